"""The visitor's own copy of their data: a ``parley-access/1`` export as a readable page.

:func:`render` is pure (no I/O, no clock) and written for the visitor, in plain
words: what we know about you, each conversation with everything said in it,
the policy texts you accepted in full, warnings and closures with the clause
cited, the e-mail addresses you left, and the bars that concern you. Times are
shown in UTC and in the visitor's own time zone when their browser reported it.

Every value taken from the export goes through the escaping helpers of
:mod:`parley.evidence.markup` (messages, notes, user agents and URLs are the
visitor's or staff's text); only the words and markup written here are trusted.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from parley.evidence.markup import (
    cited_clause,
    clause_name,
    e,
    exact,
    fields,
    grid,
    language_row,
    mono,
    page,
    quotes,
    said,
    section,
    when,
    widget_build,
    zone_of,
)

RUNNING = ("Your data held by Parley", "Access request \\2014  visitor")

OUTCOMES = {
    "open": "still open",
    "resolved": "resolved",
    "closed": "closed for a breach of the conduct policy",
    "abandoned": "ended by Parley after you had left",
}


def render(export: dict[str, Any]) -> str:
    """The page of ``export`` (as built by :func:`parley.service.access.export`)."""
    visitor = export.get("visitor") or {}
    vid = str(visitor.get("id", ""))
    zone = zone_of(export.get("time_zone"))
    conversations = export.get("conversations") or []
    body = "".join(
        [
            "<header><h1>The data Parley holds about you</h1>"
            '<p class="lead">This is a copy of everything this site\'s chat service (Parley) '
            "stores about you, made because you asked for it. The same data comes as a file "
            f'(<span class="mono">{e(export.get("format"))}</span>) that a program can read.'
            "</p></header>",
            _summary(export, zone),
            "<main>",
            _conversations(conversations, zone),
            _policies(conversations),
            _bars(export.get("bars") or [], zone),
            _not_kept(),
            "</main>",
        ]
    )
    return page("The data Parley holds about you", vid, export.get("generated_at"), body, RUNNING)


def _summary(export: dict[str, Any], zone: ZoneInfo | None) -> str:
    visitor = export.get("visitor") or {}
    conversations = export.get("conversations") or []
    name = export.get("time_zone")
    zone_text = (
        f"{e(name)}: times are shown in UTC and in your time zone"
        if zone
        else "not known: times are shown in UTC"
    )
    rows = [
        ("Your visitor id", mono(visitor.get("id"))),
        ("First seen", when(visitor.get("created_at"), zone)
         if visitor.get("created_at") else '<span class="missing">not recorded</span>'),
        ("Conversations", e(len(conversations))),
        ("Bars that concern you", e(len(export.get("bars") or []))),
        ("Your time zone", zone_text),
        ("Copy made", f"{when(export.get('generated_at'), zone)} at the request handled by "
                      f"{e((export.get('generated_by') or {}).get('name'))}"),
    ]  # fmt: skip
    return f'<section class="box" aria-label="Summary">{fields(rows)}</section>'


def _happened(event: dict[str, Any], transcript: list[Any]) -> str:
    kind, data = event.get("type"), event.get("data") or {}
    if kind == "acceptance":
        return (
            f"You accepted “{e(data.get('title'))}” version {e(data.get('version'))} "
            "(its full text is in section 2)."
        )
    if kind == "message":
        return said(data.get("text"))
    if kind == "agent_joined":
        return "Joined the conversation."
    if kind == "assigned":
        assignee = data.get("agent")
        if isinstance(assignee, dict):
            return f"The conversation was given to {e(assignee.get('name') or assignee.get('id'))}."
        return "The conversation was put back in the queue for the next agent."
    if kind == "resolved":
        return "Marked the conversation as resolved."
    if kind == "abandoned":
        return "You had left: Parley ended the conversation."
    if kind == "contact_left":
        return f"You left an e-mail address to be answered at: {said(data.get('email'))}"
    if kind == "erased":
        return f"Personal data of this conversation was erased (“{e(data.get('basis'))}”)."
    if kind == "warning":
        cited = data.get("messages")
        quoted = quotes(cited, transcript, event.get("seq")) if cited else ""
        return f"Warned you under {clause_name(data.get('clause'))}.{quoted}"
    if kind == "closed":
        return f"Closed the conversation for a breach of {clause_name(data.get('clause'))}."
    return e(kind)


def _who(author: Any) -> str:
    author = author if isinstance(author, dict) else {}
    if author.get("role") == "visitor":
        return "You"
    if author.get("role") == "system":
        return "Parley (automatic)"
    return f"{e(author.get('name'))} (agent)"


def _acceptance(acc: dict[str, Any], zone: ZoneInfo | None) -> str:
    rows = [
        ("Accepted at", when(acc.get("accepted_at"), zone)),
        ("Policy", f"“{e(acc.get('title'))}”, {e(acc.get('policy_id'))} version "
                   f"{e(acc.get('version'))}, SHA-256 {mono(acc.get('sha256'))}"),
        *language_row(acc),
        ("IP address", mono(acc.get("ip"))),
        ("Browser (user agent)", e(acc.get("user_agent"))),
        ("Page you were on", mono(acc.get("page_url"))),
        ("Language (locale)", e(acc.get("locale"))),
        ("Time zone", e(acc.get("time_zone"))),
        ("Widget", widget_build(acc)),
        ("How you accepted", e(acc.get("affirmation"))),
    ]  # fmt: skip
    head = "<h4>Your acceptance of the conduct policy, and what was recorded with it</h4>"
    return head + fields(rows)


def _citations(record: dict[str, Any], zone: ZoneInfo | None) -> str:
    accepted = (record.get("acceptance") or {}).get("text")
    transcript = record.get("transcript") or []
    closure = record.get("closure")
    parts = []
    for cite in [*(record.get("warnings") or []), *([closure] if closure else [])]:
        verb = "Warning" if cite.get("type") == "warning" else "Closure"
        agent = (cite.get("agent") or {}).get("name")
        note = cite.get("note")
        parts.append(
            f"<h4>{verb} at {when(cite.get('at'), zone)} by {e(agent)}, under "
            f"{clause_name(cite.get('clause'))}</h4>"
            f"{cited_clause(cite.get('clause') or {}, accepted)}"
            + (f"<p>The agent's note:</p>{said(note, 'note')}" if note else "")
            + (
                "<p>The messages of yours the agent cited:</p>"
                + quotes(cite.get("messages"), transcript, cite.get("seq"))
                if cite.get("messages")
                else ""
            )
            + (
                f"<p>What you were shown:</p>{said(cite.get('notice'), 'notice')}"
                if cite.get("notice")
                else ""
            )
        )
    return "".join(parts)


def _staff_actions(entries: list[Any], zone: ZoneInfo | None) -> str:
    if not entries:
        return ""
    rows = [
        [when(a.get("at"), zone), e((a.get("actor") or {}).get("name")),
         e(str(a.get("action", "")).replace("_", " "))]
        for a in entries
        if isinstance(a, dict)
    ]  # fmt: skip
    head = "<h4>Who at the site acted on this conversation</h4>"
    return head + grid("staff", ["Time", "Who", "What"], rows)


def _conversation(n: int, record: dict[str, Any], zone: ZoneInfo | None) -> str:
    conv = record.get("conversation") or {}
    transcript = record.get("transcript") or []
    outcome = OUTCOMES.get(str(conv.get("state")), e(conv.get("state")))
    ended = f", ended {when(conv.get('ended_at'), zone)}" if conv.get("ended_at") else ""
    rows = [
        [when(ev.get("at"), zone), _who(ev.get("author")), _happened(ev, transcript)]
        for ev in transcript
        if isinstance(ev, dict)
    ]
    contacts = record.get("contacts") or []
    left = (
        "<p>E-mail addresses you left for us to answer you at: "
        + ", ".join(mono(c.get("email")) for c in contacts)
        + ".</p>"
        if contacts
        else ""
    )
    return (
        f'<article class="conversation" aria-labelledby="conversation-{n}">'
        f'<h3 id="conversation-{n}">Conversation {n}: started {when(conv.get("started_at"), zone)}'
        f"{ended}, {outcome}</h3><p>Conversation id {mono(conv.get('id'))}.</p>"
        f"{_acceptance(record.get('acceptance') or {}, zone)}{left}"
        "<h4>Everything said and done in it</h4>"
        f"{grid('chat', ['Time', 'Who', 'What happened'], rows)}"
        f"{_citations(record, zone)}{_staff_actions(record.get('audit') or [], zone)}"
        "</article>"
    )


def _conversations(conversations: list[Any], zone: ZoneInfo | None) -> str:
    if not conversations:
        body = "<p>You have had no conversation.</p>"
    else:
        body = "".join(_conversation(n, c, zone) for n, c in enumerate(conversations, 1))
    intro = (
        "Every conversation you had, oldest first. Before each one you accepted the site's "
        "conduct policy; what your browser reported then was recorded with it. Agents "
        "answering you later see a list of your earlier conversations, with their warnings "
        "and closures: it is made from these same records."
    )
    return section(1, "conversations", "Your conversations", body, intro)


def _policies(conversations: list[Any]) -> str:
    texts: dict[str, dict[str, Any]] = {}
    for record in conversations:
        acc = record.get("acceptance") or {}
        texts.setdefault(str(acc.get("sha256")), acc)
    blocks = [
        f"<h3>“{e(acc.get('title'))}”, {e(acc.get('policy_id'))} version "
        f"{e(acc.get('version'))}</h3><p>SHA-256 {mono(acc.get('sha256'))}</p>"
        f'<pre class="policy-text">{exact(acc.get("text"))}</pre>'
        for acc in texts.values()
    ]
    intro = "The exact text of each version of the conduct policy you accepted, in full."
    body = "".join(blocks) or "<p>You accepted no policy.</p>"
    return section(2, "policy", "The policies you accepted", body, intro)


def _bars(bars: list[Any], zone: ZoneInfo | None) -> str:
    if not bars:
        return section(3, "bars", "Bars", "<p>You have never been barred from the chat.</p>")
    items = []
    for bar in bars:
        why = (
            "placed on you"
            if bar.get("on_you")
            else "placed on someone else, on a network that holds an address you used ("
            + ", ".join(mono(a) for a in bar.get("your_addresses") or [])
            + ")"
        )
        until = when(bar.get("until"), zone) if bar.get("until") else "no end (permanent)"
        lifted = (
            f"lifted {when(bar.get('lifted_at'), zone)}" if bar.get("lifted_at") else "not lifted"
        )
        rows = [
            ("Why it concerns you", why),
            ("Placed", when(bar.get("created_at"), zone)),
            ("Until", until),
            ("Lifted", lifted),
            ("Address or network", mono(bar.get("network")) if bar.get("network") else "none"),
            ("Clause", clause_name(bar.get("clause"))),
        ]
        items.append(fields(rows))
    intro = "A bar keeps a visitor, an address or a network out of the chat for a while."
    return section(3, "bars", "Bars", "".join(items), intro)


def _not_kept() -> str:
    body = (
        "<p>Parley also gives your browser a resume token so that you find your conversation "
        "after a reload; it keeps only a one-way hash of it, to recognise you, and this copy "
        "leaves it out. Whether you are online, and whether you are typing, is kept for a few "
        "seconds only, and never recorded.</p>"
    )
    return section(4, "not-kept", "What is not in this copy", body)
