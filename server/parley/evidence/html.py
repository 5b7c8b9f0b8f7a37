"""The printable evidence document: one conversation's bundle as a standalone HTML page.

:func:`render` is pure (no I/O, no clock: the time shown as "generated" is the
bundle's own) and builds a complete HTML5 document with no external resources
and no script, laid out to be read on screen and printed by a lawyer.

The bundle holds text the visitor controls (messages, user agent, page URL,
time zone) and text staff control (names, notes). Every value taken from it is
escaped with :func:`html.escape` before it reaches the page, and invisible
characters that could disguise a message (bidirectional overrides, zero-width
spaces, control codes) are shown as ``[U+XXXX]`` wherever they occur outside
the policy text, whose exact wording is the point of section 2.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from parley.domain import language as tags
from parley.domain import note as signed_note
from parley.domain.transcript import format_time
from parley.errors import TimestampInvalid
from parley.evidence import timestamp
from parley.evidence.markup import (
    MISSING,
    cited_clause,
    clause_name,
    details,
    e,
    erased,
    event_author,
    exact,
    fields,
    governing_clause,
    grid,
    language_row,
    mono,
    note,
    page,
    person,
    personal,
    quotes,
    said,
    section,
    short,
    when,
    widget_build,
    zone_of,
)


def render(bundle: dict[str, Any]) -> str:
    """The evidence document of ``bundle`` (as built by ``service.evidence.export``).

    Tolerates older bundles (no ``time_zone``) and missing optional values; an
    unknown or invalid visitor time zone means times are shown in UTC only.
    """
    conversation = bundle.get("conversation") or {}
    cid = str(conversation.get("id", ""))
    zone = zone_of((bundle.get("acceptance") or {}).get("time_zone"))
    body = "".join(
        [
            f"<header><h1>Evidence record — conversation {e(cid)}</h1>"
            '<p class="lead">A readable rendering of the evidence bundle '
            f'<span class="mono">evidence-{e(cid)}.json</span>. The checks of section 7 apply '
            "to that file, which holds every value below in full; times are shown to the "
            "second.</p></header>",
            _summary(bundle, zone),
            _acceptance(bundle, zone),
            _policy_text(bundle),
            _transcript(bundle, zone),
            _closure(bundle, zone),
            _agents(bundle),
            _audit(bundle, zone),
            _integrity(bundle, cid, zone),
            _holds(bundle, zone),
        ]
    )
    title = f"Evidence record — conversation {cid}"
    return page(title, cid, bundle.get("generated_at"), body)


def _outcome(bundle: dict[str, Any]) -> str:
    closure = bundle.get("closure") or {}
    state = (bundle.get("conversation") or {}).get("state")
    if closure.get("type") == "closed":
        clause = clause_name((closure.get("data") or {}).get("clause"))
        return (
            f"Closed for violation of {clause}, by {e((closure.get('author') or {}).get('name'))}"
        )
    if closure.get("type") == "resolved" or state == "resolved":
        return "Resolved"
    if closure.get("type") == "abandoned" or state == "abandoned":
        return "Abandoned: the visitor had gone"
    if state == "open":
        return "Open: not ended when this record was generated"
    return e(state)


def _summary(bundle: dict[str, Any], zone: ZoneInfo | None) -> str:
    conv, acc = bundle.get("conversation") or {}, bundle.get("acceptance") or {}
    agents = bundle.get("agents") or []
    names = ", ".join(f"{e(a.get('name'))} ({mono(a.get('id'))})" for a in agents)
    policy = f"“{e(acc.get('title'))}”, {e(acc.get('policy_id'))} version {e(acc.get('version'))}"
    rows = [
        ("Visitor", mono(conv.get("visitor_id") or acc.get("visitor_id"))),
        ("Policy accepted", f"{policy}<br>SHA-256 {mono(acc.get('sha256'))}"),
        ("Accepted at", when(acc.get("accepted_at"), zone)),
        ("Outcome", _outcome(bundle)),
        ("Ended at", when(conv.get("ended_at"), zone) if conv.get("ended_at") else "—"),
        ("Agents involved", names or "none"),
        ("Record generated", f"{when(bundle.get('generated_at'), zone)}<br>by "
                             f"{person(bundle.get('generated_by'))}"),
    ]  # fmt: skip
    return f'<section class="box" aria-label="Summary">{fields(rows)}</section>'


def _acceptance(bundle: dict[str, Any], zone: ZoneInfo | None) -> str:
    acc = bundle.get("acceptance") or {}
    first = next(iter(bundle.get("transcript") or []), None)
    zone_name = acc.get("time_zone")
    if zone_name is not None and zone is None:
        zone_text = f"{e(zone_name)} (not a known IANA time zone: times are shown in UTC only)"
    else:
        zone_text = e(zone_name) if zone else f"{MISSING} (times are shown in UTC only)"
    source = (
        "<p>The IP address and user agent are those of the visitor's connection; the locale, "
        "time zone, page URL and widget build are as the visitor's browser reported them. "
        "The widget's SHA-256 is known when the widget was loaded from this server's "
        "content-addressed URL of a build, or under an integrity attribute the browser "
        "checked; the server weighs those reports against the build it served (stale: "
        "provably an older build).</p>"
    )
    rows = [
        ("Visitor", mono(acc.get("visitor_id"))),
        ("Accepted at", when(acc.get("accepted_at"), zone)),
        ("Policy", f"“{e(acc.get('title'))}”, {e(acc.get('policy_id'))} "
                   f"version {e(acc.get('version'))}"),
        ("SHA-256 of the text", mono(acc.get("sha256"))),
        *language_row(acc),
        ("IP address", erased(first, "ip") or mono(acc.get("ip"))),
        ("User agent", erased(first, "user_agent") or e(acc.get("user_agent"))),
        ("Locale", e(acc.get("locale"))),
        ("Time zone", zone_text),
        ("Page URL", erased(first, "page_url") or mono(acc.get("page_url"))),
        ("Widget", widget_build(acc)),
        ("Affirmative act", e(acc.get("affirmation"))),
        ("Transcript event", f"1, hash {mono(acc.get('event_hash'))}"),
    ]  # fmt: skip
    statement = (
        "The visitor accepted this policy before the conversation could start. In the "
        "Parley widget the visitor reads the full text, ticks the acceptance box and starts "
        "the chat; the widget then sends an acceptance that echoes the policy id, version and "
        "SHA-256 digest of the text it showed. The server opened this conversation only "
        "because that digest was the digest of the version in force, and it recorded the "
        "acceptance, with the full text (section 2), as the first event of the transcript. "
        "The widget also reports what the visitor did to accept (the affirmative act above); "
        "a client that is not the Parley widget may report nothing there."
    )
    return section(
        1, "acceptance", "Acceptance of the conduct policy", fields(rows) + source, statement
    )


def _governing_text(bundle: dict[str, Any]) -> str:
    """The governing text in full, after a translation that was accepted."""
    acc, governing = bundle.get("acceptance") or {}, bundle.get("governing") or {}
    text = governing.get("text")
    if not isinstance(text, str) or governing.get("language") == acc.get("language"):
        return ""
    same = hashlib.sha256(text.encode("utf-8")).hexdigest() == acc.get("governing_sha256")
    return (
        f"<h3>The governing text, in {e(tags.named(str(governing.get('language'))))}</h3>"
        f"<p>The visitor accepted a translation; in case of doubt this text governs. Its "
        f"SHA-256 digest, recomputed when this document was generated, "
        f"{'matches' if same else '<strong>does NOT match</strong>'} the governing digest "
        f"recorded with the acceptance.</p>"
        f'<pre class="policy-text">{exact(text)}</pre>'
    )


def _policy_text(bundle: dict[str, Any]) -> str:
    acc = bundle.get("acceptance") or {}
    text = acc.get("text")
    if not isinstance(text, str):
        return section(2, "policy", "The policy text accepted, in full", f"<p>{MISSING}</p>")
    same = hashlib.sha256(text.encode("utf-8")).hexdigest() == acc.get("sha256")
    lead = (
        f"The text recorded with the acceptance: exactly what the visitor was shown and accepted, "
        f"“{e(acc.get('title'))}” version {e(acc.get('version'))}. Its SHA-256 digest, "
        f"recomputed when this document was generated, "
        f"{'matches' if same else '<strong>does NOT match</strong>'} the recorded digest."
    )
    pre = f'<pre class="policy-text">{exact(text)}</pre>{_governing_text(bundle)}'
    return section(2, "policy", "The policy text accepted, in full", pre, lead)


def _happened(event: dict[str, Any], transcript: list[Any]) -> str:
    kind, data = event.get("type"), event.get("data") or {}
    if kind == "acceptance":
        return (
            f"Accepted “{e(data.get('title'))}” version {e(data.get('version'))} "
            "(section 1; full text in section 2)."
        )
    if kind == "message":
        return personal(event, "text", said)
    if kind == "agent_joined":
        return "Joined the conversation."
    if kind == "resolved":
        return "Resolved the conversation." + note(event)
    if kind == "assigned":
        return _assigned(data)
    if kind == "abandoned":
        return f"Ended the conversation: the visitor had gone since {e(data.get('gone_since'))}."
    if kind == "contact_left":
        return f"Left an e-mail address to be answered at: {personal(event, 'email', said)}"
    if kind == "erased":
        return _erasure(data)
    if kind == "warning":
        name, cited = clause_name(data.get("clause")), data.get("messages")
        quoted = quotes(cited, transcript, event.get("seq")) if cited else ""
        quoted = erased(event, "messages") or quoted
        return f"Warned the visitor under {name}; the conversation stays open.{note(event)}{quoted}"
    if kind == "closed":
        name = clause_name(data.get("clause"))
        return f"Closed the conversation for violation of {name} (section 4).{note(event)}"
    return f"{e(kind)} {said(json.dumps(data, ensure_ascii=False))}"


def _erasure(data: dict[str, Any]) -> str:
    """An erasure record: which fields of which events, under which basis, by whom."""
    found = data.get("by")
    by: dict[str, Any] = found if isinstance(found, dict) else {}
    named = "; ".join(
        f"event {e(item.get('seq'))}: {e(', '.join(item.get('fields') or []))}"
        for item in data.get("fields") or []
        if isinstance(item, dict)
    )
    return (
        f"Erased personal data ({named}) under “{e(data.get('basis'))}”, "
        f"by {e(by.get('name') or by.get('id'))}. The commitments stay: the record still verifies."
    )


def _assigned(data: dict[str, Any]) -> str:
    agent = data.get("agent")
    if not isinstance(agent, dict):
        return "Put the conversation back in the queue (released)."
    name = agent.get("name") or agent.get("id")
    return f"Assigned the conversation to {e(name)} ({e(data.get('reason'))})."


def _transcript(bundle: dict[str, Any], zone: ZoneInfo | None) -> str:
    events = bundle.get("transcript") or []
    rows = [
        [e(ev.get("seq")), when(ev.get("at"), zone), event_author(ev.get("author")),
         _happened(ev, events), short(ev.get("hash"))]
        for ev in events
    ]  # fmt: skip
    lead = (
        "Every event of the conversation, in order. Each event's hash covers the one "
        "before it; the first 12 hexadecimal digits are shown here and the full hashes are "
        "in the JSON bundle. Invisible characters in messages are shown as [U+XXXX]. A "
        "warning's quotes are checked against the events they name."
    )
    table = grid("transcript", ["#", "Time", "Author", "What happened", "Hash"], rows)
    return section(3, "transcript", "Transcript", table, lead)


def _closure(bundle: dict[str, Any], zone: ZoneInfo | None) -> str:
    closure = bundle.get("closure") or {}
    data, author = closure.get("data") or {}, closure.get("author") or {}
    by, at = e(author.get("name")), when(closure.get("at"), zone)
    if closure.get("type") == "resolved":
        intro, body = f"The conversation was resolved by {by} at {at}.", note(closure)
    elif closure.get("type") == "abandoned":
        intro = f"The visitor had gone; Parley ended the conversation as abandoned at {at}."
        body = ""
    elif closure.get("type") != "closed":
        intro = "The conversation was still open when this record was generated."
        body = ""
    else:
        intro = "The conversation was closed for a violation of the conduct policy."
        clause = data.get("clause") or {}
        rows = [
            ("Clause", clause_name(clause)),
            ("Policy", f"{e(data.get('policy_id'))} version {e(data.get('version'))}, "
                       f"SHA-256 {mono(data.get('sha256'))}"),
            ("Closed by", f"{by} ({mono(author.get('id'))})"),
            ("Closed at", at),
            ("Agent's note", personal(closure, "note", lambda v: said(v, "note"))),
            ("Transcript event", f"{e(closure.get('seq'))}, hash {mono(closure.get('hash'))}"),
        ]  # fmt: skip
        messages = erased(closure, "messages") or quotes(
            data.get("messages"), bundle.get("transcript"), closure.get("seq")
        )
        accepted = (bundle.get("acceptance") or {}).get("text")
        body = (
            f"{fields(rows)}{cited_clause(clause, accepted, data.get('language'))}"
            f"{governing_clause(data.get('governing'))}"
            "<h3>The messages cited</h3><p>The visitor's messages the "
            "agent selected as the evidence, exactly as recorded, each checked against the "
            f"transcript (section 3).</p>{messages}<h3>The notice the visitor was shown</h3>"
            "<p>Rendered from the notice template of the version the visitor accepted; "
            f"invisible characters are shown as [U+XXXX].</p>"
            f"{personal(closure, 'notice', lambda v: said(v, 'notice'))}"
        )
    return section(4, "closure", "Closure", body, intro)


def _agents(bundle: dict[str, Any]) -> str:
    agents = bundle.get("agents") or []
    if not agents:
        return section(5, "agents", "Agents involved", "<p>No agent took part.</p>")
    rows = [[e(a.get("name")), mono(a.get("id")), e(a.get("role"))] for a in agents]
    return section(5, "agents", "Agents involved", grid("agents", ["Name", "Id", "Role"], rows))


def _audit(bundle: dict[str, Any], zone: ZoneInfo | None) -> str:
    entries = bundle.get("audit") or []
    lead = (
        "Privileged actions on this conversation. Numbers are positions in the "
        "deployment's single audit chain, so entries about other conversations leave gaps."
    )
    if any("thread_prev_hash" in a for a in entries):
        lead += (
            " Each entry also links to the one before it about this conversation, and the "
            "last is anchored with the transcript (section 7): none can be removed unnoticed."
        )
    rows = [
        [e(a.get("seq")), when(a.get("at"), zone), person(a.get("actor")),
         e(str(a.get("action", "")).replace("_", " ")), details(a.get("details"))]
        for a in entries
    ]  # fmt: skip
    heads = ["#", "Time", "Actor", "Action", "Details"]
    table = grid("audit", heads, rows) if rows else "<p>No audit entries.</p>"
    return section(6, "audit", "Audit trail for this conversation", table, lead)


def _holds(bundle: dict[str, Any], zone: ZoneInfo | None) -> str:
    """The legal holds in force at export; nothing for bundles from before holds."""
    if "holds" not in bundle:
        return ""
    lead = (
        "Legal holds in force on this conversation when this record was exported: while one "
        "is, neither retention nor an erasure request touches it. A record of status, not "
        "covered by the checks of section 7; placing and lifting are in the audit trail."
    )
    rows = [
        [mono(h.get("id")), e(f"{h.get('scope')} {h.get('target')}"), e(h.get("reason")),
         when(h.get("placed_at"), zone), person(h.get("placed_by"))]
        for h in bundle["holds"] or []
    ]  # fmt: skip
    heads = ["Hold", "On", "Reason", "Placed", "By"]
    table = grid("holds", heads, rows) if rows else "<p>No legal hold was in force.</p>"
    return section(8, "holds", "Legal holds", table, lead)


def _cosigners(anchor: dict[str, Any], origin: Any, zone: ZoneInfo | None) -> str:
    """Who cosigned the checkpoint's note, and when they say they did (checked by --witness)."""
    try:
        lines = signed_note.parse(anchor["note"]).signatures
    except (KeyError, TypeError, ValueError):
        return "none (this bundle's checkpoint carries no signed note)"
    cosigned = [
        f"<li>{e(s.name)}, {when(format_time(_seconds(s.blob[:8])), zone)}</li>"
        for s in lines
        if s.name != origin and len(s.blob) == 72
    ]
    if not cosigned:
        return "none: no witness cosigned this checkpoint"
    return (
        f"<ul>{''.join(cosigned)}</ul>as the signature lines claim: "
        '<code class="mono">parley evidence verify --witness</code> checks them'
    )


def _seconds(big_endian: bytes) -> datetime:
    return datetime.fromtimestamp(min(int.from_bytes(big_endian), 253402300799), UTC)


def _stamp(anchor: dict[str, Any], zone: ZoneInfo | None) -> str:
    """When a time-stamping authority says the checkpoint existed (checked by --tsa-cert)."""
    try:
        token = base64.b64decode(anchor["timestamp"], validate=True)
        at = timestamp.stamped_time(token, signed_note.parse(anchor["note"]).text.encode())
    except (KeyError, TypeError, ValueError, TimestampInvalid):
        return "none"
    return (
        f"{when(format_time(at), zone)}, as the token claims: "
        '<code class="mono">parley evidence verify --tsa-cert</code> checks its signature'
    )


def _integrity(bundle: dict[str, Any], cid: str, zone: ZoneInfo | None) -> str:
    anchor = bundle.get("anchor") or {}
    leaf, point = anchor.get("leaf") or {}, anchor.get("checkpoint") or {}
    proof = anchor.get("inclusion_proof") or []
    path = "".join(f"<li>{mono(h)}</li>" for h in proof)
    alone = ": the log held this head alone, so its leaf hash is the root"
    alone = alone if point.get("tree_size") == 1 else ""
    rows = [
        ("Anchored head", f"transcript event {e(leaf.get('seq'))}, "
                          f"hash {mono(leaf.get('head_hash'))}"),
        *([("Audit head", mono(leaf["audit_head"]))] if "audit_head" in leaf else []),
        ("Anchored at", when(leaf.get("at"), zone)),
        ("Leaf index", e(anchor.get("leaf_index"))),
        ("Log", mono(point.get("origin"))),
        ("Tree size", e(point.get("tree_size"))),
        ("Root hash", mono(point.get("root_hash"))),
        ("Checkpoint time", when(point.get("at"), zone)),
        ("Key id", mono(point.get("key_id"))),
        ("Signature (Ed25519)", mono(anchor.get("signature"))),
        ("Public key (Ed25519)", mono(anchor.get("public_key"))),
        ("Inclusion proof", f"<ol>{path}</ol>" if path else "none" + alone),
        ("Witness cosignatures", _cosigners(anchor, point.get("origin"), zone)),
        ("Time stamp (RFC 3161)", _stamp(anchor, zone)),
        ("Bundle format", mono(bundle.get("format"))),
    ]  # fmt: skip
    how = re.sub(r"`([^`]+)`", r'<code class="mono">\1</code>', e(bundle.get("how_to_verify")))
    key = anchor.get("public_key") or "KEY"
    command = f"parley evidence verify evidence-{cid}.json --public-key {key}"
    return section(
        7,
        "integrity",
        "Integrity and how to verify",
        f'{fields(rows)}<p>{how}</p><div class="keep"><p>To check this record with the '
        "operator's published public key, run:</p>"
        f'<pre class="command">{escape(command, quote=True)}</pre><p>The key in this command '
        "is the one the bundle names: before relying on the result, check that it is the key "
        f"the operator published (key id {mono(point.get('key_id'))}).</p></div>",
    )
