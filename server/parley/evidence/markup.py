"""Building blocks of the evidence document: safe HTML, times, tables, and its style sheet.

Every function that takes a bundle value returns HTML in which that value is
escaped (:func:`html.escape` with ``quote=True``); only the labels and markup
written here are trusted.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from parley.domain import language as tags

MISSING = '<span class="missing">not recorded</span>'

# Names the time zone database answers to that are no browser's IANA zone:
# "localtime" would silently be the server's own zone.
_NOT_ZONES = {"localtime", "posixrules", "Factory"}
# Characters that hide or reorder text: control codes, bidirectional
# overrides and isolates, zero-width spaces, byte order marks.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200c\u200e\u200f"
    "\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)
_HEX = re.compile(r"[0-9a-fA-F]{12,}")
_DETAIL_LABELS = {"seq": "transcript event", "clause_id": "clause", "ban_id": "bar"}


def e(value: Any) -> str:
    """One bundle value as safe HTML, with invisible characters shown as ``[U+XXXX]``."""
    if value is None:
        return MISSING
    if value == "":
        return '<span class="missing">(empty)</span>'
    text = escape(str(value), quote=True)
    return _INVISIBLE.sub(lambda m: f'<span class="ctl">[U+{ord(m[0]):04X}]</span>', text)


def exact(text: Any) -> str:
    """Text for a ``<pre>``: escaped, otherwise untouched (a parser drops one leading LF)."""
    escaped = escape("" if text is None else str(text), quote=True)
    return "\n" + escaped if escaped.startswith("\n") else escaped


def zone_of(name: Any) -> ZoneInfo | None:
    """The visitor's IANA time zone, or ``None`` when it is missing, unknown or malformed."""
    if not isinstance(name, str) or name in _NOT_ZONES:
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return None


def utc(at: Any) -> datetime | None:
    """The instant a recorded time names, in UTC; ``None`` if it is not a time with an offset."""
    try:
        moment = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment and moment.tzinfo else None


def when(at: Any, zone: ZoneInfo | None) -> str:
    """``2026-11-23 17:37:36 UTC (18:37:36 Europe/Paris)``; the raw value if it is no time.

    The local date is shown too when it differs from the UTC date.
    """
    moment = utc(at)
    if moment is None:
        return e(at)
    shown = moment.strftime("%Y-%m-%d %H:%M:%S UTC")
    if zone is not None:
        local = moment.astimezone(zone)
        form = "%H:%M:%S" if local.date() == moment.date() else "%Y-%m-%d %H:%M:%S"
        shown += f' <span class="local">({local.strftime(form)} {escape(zone.key)})</span>'
    return f'<span class="time">{shown}</span>'


def mono(value: Any) -> str:
    """A value read character by character (ids, hashes, keys, URLs), allowed to wrap anywhere."""
    return f'<span class="mono">{e(value)}</span>'


def widget_build(acc: dict[str, Any]) -> str:
    """The widget build an acceptance records, and whether it was the one the server served.

    ``widget_stale``: false, the build this server served; true, an older one (stale); null,
    not known. A record made before builds were fingerprinted has only the build string.
    """
    said = f"build {e(acc.get('widget_build'))}"
    if acc.get("widget_served_sha256") is None:
        return said
    digest = "not known" if acc.get("widget_sha256") is None else mono(acc["widget_sha256"])
    served = f"this server served SHA-256 {mono(acc['widget_served_sha256'])}"
    stale = acc.get("widget_stale")
    if stale is False:
        return f"{said}, SHA-256 {digest} (the build this server served)"
    if stale is True:
        return f"{said}, SHA-256 {digest}, an older build (stale); {served}"
    return f"{said}, SHA-256 {digest} (whether it was the build served is not known; {served})"


def short(digest: Any) -> str:
    """The first 12 hex digits of a hash, the whole hash in the tooltip."""
    if not isinstance(digest, str) or not _HEX.fullmatch(digest):
        return mono(digest)
    return f'<span class="mono" title="{escape(digest, quote=True)}">{digest[:12]}</span>'


def said(value: Any, kind: str = "said") -> str:
    """Text someone wrote (a message, a note), line breaks kept, in its own direction."""
    return f'<div class="{kind}" dir="auto">{e(value)}</div>'


def fields(rows: list[tuple[str, str]]) -> str:
    """A two-column definition table: trusted labels, already-safe values."""
    cells = "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in rows)
    return f'<table class="fields">{cells}</table>'


def grid(kind: str, heads: list[str], rows: list[list[str]]) -> str:
    """A table with a header row repeated on every printed page; cells are already safe."""
    head = "".join(f'<th scope="col">{h}</th>' for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{kind}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def person(who: Any) -> str:
    """Someone who acted, from a ``{id, name, role}`` record."""
    who = who or {}
    return f"{e(who.get('name'))} ({e(who.get('role'))})<br>{mono(who.get('id'))}"


def clause_name(clause: Any) -> str:
    clause = clause or {}
    return f"clause {e(clause.get('id'))} “{e(clause.get('title'))}”"


def details(facts: Any) -> str:
    """An audit entry's details as words: ``transcript event 6, clause 1.2``."""
    if not isinstance(facts, dict) or not facts:
        return "—"
    return ", ".join(
        f"{e(_DETAIL_LABELS.get(k, k))} {'none' if v is None else e(v)}" for k, v in facts.items()
    )


def note(event: dict[str, Any]) -> str:
    """The agent's note on an event, if it has one (or had one, erased since)."""
    gone = erased(event, "note")
    if gone:
        return f"<p>Agent's note: {gone}</p>"
    text = (event.get("data") or {}).get("note")
    return f"<p>Agent's note:</p>{said(text, 'note')}" if text else ""


def event_author(who: Any) -> str:
    """Who wrote a transcript event: the visitor, Parley itself, or an agent's name and id."""
    who = who or {}
    if who.get("role") == "visitor":
        return "Visitor"
    if who.get("role") == "system":
        return "Parley (automatic)"
    return f"{e(who.get('name'))}<br>{mono(who.get('id'))}"


def cited_clause(clause: dict[str, Any], accepted: Any, language: Any = None) -> str:
    """The clause a closure cites, exactly as recorded, and whether it appears word for word
    in the ``accepted`` policy text (written in ``language``, if the citation names one)."""
    block = f"\n{clause.get('id')} {clause.get('title')}\n{clause.get('text')}\n"
    found = "appears" if block in str(accepted or "") else "<strong>does NOT appear</strong>"
    return (
        f'<div class="keep"><p>The clause cited, exactly as recorded. It {found} word for word '
        f"in the policy text the visitor accepted (section 2).</p>"
        f"<blockquote{written_in(language)}>{_clause_body(clause)}</blockquote></div>"
    )


def governing_clause(governing: Any) -> str:
    """The governing text's clause a citation of a translation quotes beside it, if any."""
    if not isinstance(governing, dict):
        return ""
    clause = governing.get("clause") or {}
    return (
        f'<div class="keep"><p>The visitor accepted a translation. The same clause in the '
        f"governing text ({e(governing.get('language'))}, SHA-256 "
        f"{mono(governing.get('sha256'))}), which governs in case of doubt, exactly as "
        f"recorded:</p><blockquote{written_in(governing.get('language'))}>"
        f"{_clause_body(clause)}</blockquote></div>"
    )


def written_in(language: Any) -> str:
    """``lang`` and ``dir`` attributes for text in ``language`` (nothing if none is named)."""
    if not isinstance(language, str):
        return ""
    return f' lang="{e(language)}" dir="{tags.direction(language)}"'


def _clause_body(clause: dict[str, Any]) -> str:
    return (
        f'<p class="clause-title">{e(clause.get("id"))} {e(clause.get("title"))}</p>'
        f'<pre class="clause-text">{exact(clause.get("text"))}</pre>'
    )


def _is_source(quote: dict[str, Any], source: Any, before: Any) -> bool:
    """Whether ``source`` is a message the visitor sent before event ``before``, reading
    exactly as ``quote`` says."""
    source = source if isinstance(source, dict) else {}
    seq, data = source.get("seq"), source.get("data") or {}
    return (isinstance(seq, int) and isinstance(before, int) and seq < before
            and source.get("type") == "message" and data.get("text") == quote.get("text")
            and (source.get("author") or {}).get("role") == "visitor")  # fmt: skip


def erased(event: Any, name: str) -> str | None:
    """If field ``name`` of ``event`` was erased: saying so, when and under which basis."""
    records = event.get("erased") if isinstance(event, dict) else None
    record = records.get(name) if isinstance(records, dict) else None
    if not isinstance(record, dict):
        return None
    return (
        f'<span class="erased">erased on {e(record.get("at"))} by {mono(record.get("by"))}, '
        f"basis: {e(record.get('basis'))}</span>"
    )


def personal(event: Any, name: str, show: Callable[[Any], str] = e) -> str:
    """Field ``name`` of ``event``'s data shown by ``show``, or the record of its erasure."""
    data = event.get("data") if isinstance(event, dict) else None
    return erased(event, name) or show(data.get(name) if isinstance(data, dict) else None)


def quotes(messages: Any, transcript: Any, before: Any) -> str:
    """The visitor's messages a warning or closure (event ``before``) cites, as recorded,
    each checked against ``transcript``: the visitor's message of that event, sent before
    it, word for word."""
    if not isinstance(messages, list) or not messages:
        return '<p class="missing">No message cited.</p>'
    events = transcript if isinstance(transcript, list) else []
    by_seq = {ev.get("seq"): ev for ev in events if isinstance(ev, dict)}
    items = []
    for quote in (q if isinstance(q, dict) else {} for q in messages):
        seq = quote.get("seq")
        if erased(by_seq.get(seq) if isinstance(seq, int) else None, "text"):
            check = "the visitor's message there has since been erased"
        elif _is_source(quote, by_seq.get(seq) if isinstance(seq, int) else None, before):
            check = "matches the visitor's message there, word for word"
        else:
            check = "<strong>does NOT match</strong> a message the visitor sent before"
        head = f'<p class="quote-seq">Event {e(seq)} — {check}</p>'
        items.append(f"<li>{head}{said(quote.get('text'), 'quote')}</li>")
    return f'<ul class="quoted">{"".join(items)}</ul>'


def section(number: int, name: str, title: str, body: str, intro: str = "") -> str:
    """A numbered section; its heading and ``intro`` stay on the page where ``body`` starts."""
    head = f"<h2>{number}. {title}</h2>" + (f'<p class="intro">{intro}</p>' if intro else "")
    return f'<section id="{name}" class="{name}"><div class="head">{head}</div>{body}</section>'


#: The running header and footer of a printed evidence record (CSS strings, trusted).
EVIDENCE_RUNNING = ("Parley evidence record", "Evidence record \\2014  conversation")


def page(
    title: str,
    conversation_id: str,
    generated_at: Any,
    body: str,
    running: tuple[str, str] = EVIDENCE_RUNNING,
) -> str:
    """The standalone document around ``body``; ``title`` is plain text, escaped here.

    A Content-Security-Policy forbids scripts and every external resource, so
    even a value that escaped escaping could neither run nor call out.
    ``running`` is the printed pages' header and the footer's words before
    ``conversation_id``: trusted CSS string contents, never a recorded value.
    """
    moment = utc(generated_at)
    # HTML escapes mean nothing inside <style>: only characters that need none reach it.
    css = CSS.replace("RUNNING_HEADER", running[0]).replace("RUNNING_FOOTER", running[1])
    css = css.replace("CONVERSATION_ID", re.sub(r"[^A-Za-z0-9_.-]", "", conversation_id))
    css = css.replace("GENERATED_AT", moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{escape(title)}</title>\n<style>\n{css}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )


# page() fills in RUNNING_HEADER, RUNNING_FOOTER, CONVERSATION_ID and GENERATED_AT for the
# running header and footer.
CSS = """\
:root { color-scheme: light; }
html { background: #fff; color: #111; }
body {
  margin: 2rem auto; padding: 0 1.25rem; max-width: 900px;
  font: 16px/1.5 Georgia, "Times New Roman", Times, serif;
}
h1, h2, h3 { font-family: system-ui, "Segoe UI", Helvetica, Arial, sans-serif; line-height: 1.25; }
h3 { font-size: 1.02em; margin: 1.2em 0 .3em; }
h1 { font-size: 1.55em; margin: 0 0 .4em; }
h2 {
  font-size: 1.2em; margin: 2em 0 .6em; padding-bottom: .15em; border-bottom: 1.5px solid #111;
}
h1, h2, h3, .head, .intro, thead, .clause-title, .quote-seq {
  break-after: avoid; page-break-after: avoid;
}
p { margin: .5em 0; orphans: 3; widows: 3; }
.lead { color: #333; font-style: italic; }
.box { border: 2px solid #111; padding: .25em .9em; margin: 1em 0 1.5em; }
.box table.fields { margin: .6em 0; }
table { width: 100%; border-collapse: collapse; margin: .6em 0 1em; table-layout: fixed; }
th, td {
  text-align: left; vertical-align: top; padding: .3em .45em; border: 1px solid #777;
  overflow-wrap: anywhere;
}
thead { display: table-header-group; }
thead th { border-bottom: 2px solid #111; font-family: system-ui, Helvetica, Arial, sans-serif; }
tr, .box, .head, .intro, .keep, blockquote, .command, ul.quoted li {
  break-inside: avoid; page-break-inside: avoid;
}
table.fields th { width: 27%; font-weight: bold; }
.box table.fields th, .box table.fields td { border: 0; border-bottom: 1px solid #bbb; }
.box table.fields tr:last-child th, .box table.fields tr:last-child td { border-bottom: 0; }
table.transcript th:nth-child(1), table.audit th:nth-child(1) { width: 2.6em; }
table.transcript th:nth-child(2), table.audit th:nth-child(2) { width: 21%; }
table.transcript th:nth-child(3) { width: 14%; }
table.transcript th:nth-child(5) { width: 7.4em; }
table.audit th:nth-child(3) { width: 24%; }
table.chat th:nth-child(1) { width: 24%; }
table.chat th:nth-child(2) { width: 17%; }
table.chat .local { display: block; }
table.audit th:nth-child(4) { width: 15%; }
.mono, code, pre.command {
  font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, "Courier New", monospace;
  font-size: .86em; overflow-wrap: anywhere; word-break: break-all;
}
.local { color: #333; }
table.transcript .local, table.audit .local { display: block; }
.said, .note, .quote, .notice, pre { white-space: pre-wrap; overflow-wrap: anywhere; }
.note { margin-top: .2em; padding-left: .6em; border-left: 3px solid #777; }
ul.quoted { list-style: none; margin: .3em 0 .8em; padding-left: 0; }
.quote-seq { margin: .3em 0 0; font-size: .92em; }
.quote { padding-left: .6em; border-left: 3px solid #111; }
.notice { margin: .5em 0 1em; padding: .6em .9em; border: 1px solid #777; }
.missing { font-style: italic; color: #444; }
.erased { font-style: italic; color: #444; border: 1px dashed #666; padding: 0 .2em; }
.ctl { font-family: monospace; font-size: .8em; border: 1px solid #111; padding: 0 .15em; }
pre { margin: .5em 0; font-family: inherit; font-size: 1em; }
.policy { break-before: page; page-break-before: always; }
pre.policy-text {
  border: 1px solid #777; box-decoration-break: clone; -webkit-box-decoration-break: clone;
  padding: .8em 1em; font-size: .97em; line-height: 1.5;
  orphans: 3; widows: 3;
}
blockquote { margin: .6em 0 1em; padding: .5em 1em; border-left: 4px solid #111; }
.clause-title { font-weight: bold; margin: 0 0 .2em; }
pre.command { border: 1px solid #777; padding: .6em .8em; }
ol { margin: .2em 0; padding-left: 1.6em; }
@page {
  margin: 18mm 16mm 20mm;
  @top-left {
    content: "RUNNING_HEADER";
    font: 8pt system-ui, Helvetica, Arial, sans-serif; color: #333;
  }
  @top-right {
    content: "Generated GENERATED_AT";
    font: 8pt system-ui, Helvetica, Arial, sans-serif; color: #333;
  }
  @bottom-left {
    content: "RUNNING_FOOTER CONVERSATION_ID";
    font: 8pt system-ui, Helvetica, Arial, sans-serif; color: #333;
  }
  @bottom-right {
    content: "Page " counter(page) " of " counter(pages);
    font: 8pt system-ui, Helvetica, Arial, sans-serif; color: #333;
  }
}
@media print {
  html, body { background: #fff; color: #000; }
  body { margin: 0; padding: 0; max-width: none; font-size: 10pt; line-height: 1.4; }
  h1 { font-size: 1.45em; }
  h2 { margin-top: 1.3em; }
  th, td { padding: .2em .4em; }
  table.transcript, table.audit { font-size: .94em; }
  .lead, .local, .missing { color: #000; }
}
"""


def language_row(acc: dict[str, Any]) -> list[tuple[str, str]]:
    """The row of an acceptance saying in which language it was accepted and which text
    governs (acceptances recorded before translations say nothing: English governed)."""
    if "language" not in acc:
        return []
    accepted, governing = str(acc.get("language")), str(acc.get("governing_language"))
    if accepted == governing:
        return [("Language", f"Accepted in {e(tags.named(accepted))}, the governing language")]
    return [(
        "Language",
        f"Accepted in {e(tags.named(accepted))}; the {e(tags.named(governing))} text governs, "
        f"SHA-256 {mono(acc.get('governing_sha256'))}",
    )]  # fmt: skip
