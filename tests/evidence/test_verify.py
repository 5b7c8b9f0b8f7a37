"""Invariant 5 — append-only, tamper-evident transcript — against real evidence bundles.

The bundles come from the real system (``conftest.py``): a real server, real
WebSocket clients, the real ``parley evidence export`` CLI. Each test changes a
copy and checks that :func:`parley.evidence.verify.verify` (and the
``parley evidence verify`` CLI) refuses it.

Every leaf of both bundles is classified: either an edit of it must be detected
(``MUST_DETECT``) or it is listed in ``ALLOWED_UNCHECKED`` with the reason no
check covers it; :func:`test_every_leaf_of_the_real_bundles_is_classified` keeps
the two lists complete as the bundle format grows.

Beyond single edits, the forgeries recompute everything a forger can (hashes,
links, summaries, copies, the anchored leaf, even the signature under their own
key) and check *which* check still catches them: a rewrite consistent in every
record of the bundle still fails at the signed anchor. "Consistent" includes the
records that restate others: the ``agents`` list maps exactly the agent authors of the
events, and ``generated_by`` is the actor of the last "evidence exported" audit entry —
and, by default, the warning's and the closure's quotes and notices (:func:`reseal`).
The moderation tests (invariant 4) forge one detail of a warning or closure — a quote, a
quoted message, a notice, a clause, a notice template — keeping everything else
consistent, and check that the citation check catches it before any key is needed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import re
import shutil
import sqlite3
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from harness import POLICIES, parley
from parley import policy_files
from parley.domain.policy import from_document
from parley.evidence.verify import Report, verify

Bundle = dict[str, Any]


def leaves(value: Any, path: str = "") -> Iterator[str]:
    """The path of every scalar, empty object and empty list in ``value``."""
    if isinstance(value, dict) and value:
        for k, v in value.items():
            yield from leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path


POLICY_V1, POLICY_V2 = policy_files.load_folder(POLICIES)

CHECKS = [
    "transcript hash chain",
    "acceptance record",
    "closure citation",
    "audit entries",
    "inclusion proof",
    "checkpoint signature",
    "checkpoint note",
]
#: A rewrite consistent in every record of the bundle is caught only by the signed anchor.
UP_TO_THE_ANCHOR = CHECKS[:4]
GENESIS = "0" * 64
ENDINGS = ("closed", "resolved")

# --------------------------------------------------------------------------------------
# The shape of the two real bundles, written out so each field is its own test id.
# --------------------------------------------------------------------------------------

EVENT_FIELDS = (
    "format",
    "erased",
    "conversation_id",
    "seq",
    "type",
    "at",
    "author.role",
    "author.id",
    "author.name",
    "client_id",
    "prev_hash",
    "hash",
)
#: Every leaf of the structured policy version event 1 carries (``data.document``): both
#: bundles accepted version 2 of the policy folder, so its paths are those of that file.
DOCUMENT = tuple(f"document.{p}" for p in leaves(POLICY_V2.to_document()))
#: Of those, the notice templates (``[notice]``): not part of the accepted text, so not
#: bound to its digest, but what every warning's and closure's notice is rendered from.
NOTICE_TEMPLATES = tuple(p for p in DOCUMENT if p.startswith("document.notice."))
ACCEPTED = (
    "policy_id",
    "version",
    "title",
    "sha256",
    "text",
    *DOCUMENT,
    "language",
    "governing_language",
    "governing_sha256",
    "visitor_id",
    "ip",
    "user_agent",
    "locale",
    "time_zone",
    "page_url",
    "widget_build",
    "widget_sha256",
    "widget_served_sha256",
    "widget_stale",
    "affirmation",
)
CITATION = (
    "policy_id",
    "version",
    "sha256",
    "clause.id",
    "clause.title",
    "clause.text",
    "note",
)
#: The text that governs the accepted one (here the same, English text), in the bundle.
GOVERNING = ("language", "sha256", "text")
#: The warning quotes the two shouted messages; the closure quotes the threat, and
#: records the bar placed with it (none).
WARNING_DATA = (
    *CITATION,
    "messages[0].seq",
    "messages[0].text",
    "messages[1].seq",
    "messages[1].text",
    "notice",
)
CLOSED_DATA = (*CITATION, "messages[0].seq", "messages[0].text", "notice", "bar")
TEXT = ("text",)
#: Joining claims the conversation from the queue first: an ``assigned`` event.
ASSIGNED_DATA = ("agent.id", "agent.name", "reason", "by.id", "by.name")

#: (event type, author role, data keys) of each transcript event, in order.
EVENTS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "closed": [
        ("acceptance", "visitor", ACCEPTED),
        ("message", "visitor", TEXT),
        ("message", "visitor", TEXT),
        ("message", "visitor", TEXT),  # SHOUTED, quoted by the warning
        ("assigned", "agent", ASSIGNED_DATA),
        ("agent_joined", "agent", ()),
        ("message", "agent", TEXT),
        ("message", "visitor", TEXT),  # SHOUTED again, quoted by the warning
        ("warning", "agent", WARNING_DATA),
        ("message", "visitor", TEXT),  # the threat, quoted by the closure
        ("closed", "agent", CLOSED_DATA),
    ],
    "resolved": [
        ("acceptance", "visitor", ACCEPTED),
        ("message", "visitor", TEXT),
        ("assigned", "agent", ASSIGNED_DATA),
        ("agent_joined", "agent", ()),
        ("message", "agent", TEXT),
        ("resolved", "agent", ("note",)),
    ],
}
#: What the visitor of the closed conversation shouts twice (``conftest.py``), and the
#: threat it ends with.
SHOUTED = "WHERE IS MY PARCEL???"
THREAT_TEXT = "Answer me now or I will find where you live."
#: Indexes in the closed bundle's transcript (seq - 1) of the events the tests alter.
SHOUT, REPLY, SHOUT_AGAIN, WARNING, THREAT, CLOSING = 3, 6, 7, 8, 9, 10

#: details keys of each audit entry of the bundle, in order.
AUDIT: dict[str, list[tuple[str, ...]]] = {
    # assigned, agent_joined, replied, warned, closed, evidence_exported
    # (the closure places no bar: its entry's ban_id is null)
    "closed": [
        ("seq", "reason", "agent_id"),
        ("seq",),
        ("seq",),
        ("seq", "clause_id"),
        ("seq", "clause_id", "ban_id"),
        (),
    ],
    # assigned, agent_joined, replied, resolved, evidence_exported
    "resolved": [("seq", "reason", "agent_id"), ("seq",), ("seq",), ("seq",), ()],
}
AUDIT_FIELDS = (
    "seq",
    "at",
    "actor.id",
    "actor.name",
    "actor.role",
    "action",
    "conversation_id",
    "staff_id",
    "prev_hash",
    "thread_prev_hash",
    "hash",
)
#: Each export anchors the conversation's head with its own audit entry ("evidence
#: exported") as the audit head: the closed bundle's leaf is the 3rd of 3 (one sibling
#: hash in its proof), the resolved bundle's the 4th of 4 (two).
PROOF_LENGTH = {"closed": 1, "resolved": 2}
ANCHOR = (
    "anchor.leaf.conversation_id",
    "anchor.leaf.seq",
    "anchor.leaf.head_hash",
    "anchor.leaf.audit_head",
    "anchor.leaf.at",
    "anchor.leaf_index",
    "anchor.checkpoint.origin",
    "anchor.checkpoint.tree_size",
    "anchor.checkpoint.root_hash",
    "anchor.checkpoint.at",
    "anchor.checkpoint.key_id",
    "anchor.signature",
    "anchor.note",
    "anchor.timestamp",
    "anchor.public_key",
)
#: Fields a bundle may lack and still verify, and why.
OPTIONAL = {
    "anchor.note": "bundles from before checkpoints were signed notes have none; without it "
    "only `verify --witness` fails (tests/e2e/test_witnessed_log.py)",
    "anchor.timestamp": "a server without a time-stamping authority stamps nothing; without it "
    "only `verify --tsa-cert` fails (tests/e2e/test_stamped_log.py)",
}
#: Summary fields that restate facts of the chained events, and which fact: the
#: transcript hash chain check compares each of them with the events. A compliance reader
#: takes them at face value (the printable HTML document's Summary shows visitor_id and
#: ended_at from here).
SUMMARY_RESTATED = {
    "conversation.last_seq": "the last event's seq",
    "conversation.head_hash": "the last event's hash",
    "conversation.visitor_id": "the visitor who accepted: event 1's author.id",
    "conversation.policy.policy_id": "the accepted policy: event 1's data.policy_id",
    "conversation.policy.version": "the accepted version: event 1's data.version",
    "conversation.policy.sha256": "the accepted text's digest: event 1's data.sha256",
    "conversation.policy.language": "the accepted text's language: event 1's data.language",
    "conversation.state": "closed or resolved: the type of the ending event",
    "conversation.started_at": "when it started: event 1's at",
    "conversation.ended_at": "when it ended: the ending event's at",
    "conversation.closed_clause": "the clause cited: the closing event's data.clause.id",
    "conversation.assignee.id": "who held it: the last assigned event's data.agent.id",
    "conversation.assignee.name": "who held it: the last assigned event's data.agent.name",
}
SUMMARY_CHECKED = ("conversation.id", *SUMMARY_RESTATED)

#: Records that restate others, and what they must equal: ``generated_by`` is checked
#: with the audit entries, the ``agents`` list with the transcript hash chain.
RESTATED = {
    "generated_by.id": "the actor of the last evidence_exported audit entry",
    "generated_by.name": "the actor of the last evidence_exported audit entry",
    "generated_by.role": "the actor of the last evidence_exported audit entry",
    "agents[0].id": "an agent author of the events (exactly the set of them)",
    "agents[0].name": "that agent's name as the events record it",
    "generated_at": "the time of the last evidence_exported audit entry",
}

#: Fields no check covers, on purpose. An edit of any of them leaves the bundle VALID.
#: Note: the HTML document shows each agent's role as their current staff role, not as
#: part of the signed record.
ALLOWED_UNCHECKED = {
    "how_to_verify": "instructions for the reader, not evidence",
    "agents[0].role": "the staff member's current role from the staff table, not chained",
    "conversation.updated_at": "live state for the agent console, not part of the record",
    "conversation.agents[0]": "live state for the agent console (who joined), not the record",
    "conversation.waiting_since": "live queue state for the agent console",
    "conversation.last_message": "a preview for the agent console; the events hold the text",
    "conversation.last_author": "a preview for the agent console; the events hold the author",
    "holds": "the legal holds in force at export: status that a lift changes, outside the chain;"
    " placing and lifting each are in the audit trail",
}
#: Unchecked only when the verifier is given the operator's key (``--public-key``).
ALLOWED_UNCHECKED_WITH_KEY = {
    "anchor.public_key": "with --public-key the operator's key is used and this copy ignored",
}


#: The personal fields of each event type: format 2 hashes their salted commitments, and
#: the bundle carries each one's salt (``salts``), which is hashed with the value.
PERSONAL = {
    "acceptance": ("ip", "user_agent", "page_url"),
    "message": ("text",),
    "warning": ("note", "messages", "notice"),
    "closed": ("note", "messages", "notice"),
    "resolved": ("note",),
}


def event_paths(prefix: str, type: str, data: tuple[str, ...]) -> list[str]:
    fields = [f"{prefix}.{f}" for f in EVENT_FIELDS]
    fields += [f"{prefix}.salts.{k}" for k in PERSONAL.get(type, ())] or [f"{prefix}.salts"]
    return fields + ([f"{prefix}.data.{k}" for k in data] or [f"{prefix}.data"])


def audit_paths(prefix: str, details: tuple[str, ...]) -> list[str]:
    fields = [f"{prefix}.{f}" for f in AUDIT_FIELDS]
    return fields + ([f"{prefix}.details.{k}" for k in details] or [f"{prefix}.details"])


def must_detect(which: str) -> list[str]:
    """Every leaf of bundle ``which`` whose edit the verifier must detect."""
    events = EVENTS[which]
    paths = ["format"]
    for i, (type, _, data) in enumerate(events):
        paths += event_paths(f"transcript[{i}]", type, data)
    paths += ["acceptance.conversation_id", "acceptance.accepted_at", "acceptance.event_hash"]
    paths += [f"acceptance.{k}" for k in ACCEPTED]
    paths += event_paths("closure", events[-1][0], events[-1][2])
    paths += [f"governing.{k}" for k in GOVERNING]
    paths += SUMMARY_CHECKED
    paths += RESTATED
    for i, details in enumerate(AUDIT[which]):
        paths += audit_paths(f"audit[{i}]", details)
    proof = [f"anchor.inclusion_proof[{i}]" for i in range(PROOF_LENGTH[which])]
    return paths + list(ANCHOR) + proof


MUST_DETECT = [(which, path) for which in EVENTS for path in must_detect(which)]


def ids(cases: list[tuple[str, str]]) -> list[str]:
    return [f"{which}:{path}" for which, path in cases]


# --------------------------------------------------------------------------------------
# Paths, edits, and consistent rewrites.
# --------------------------------------------------------------------------------------

TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
HEX = re.compile(r"^[0-9a-f]{16,}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{3})Z$")
OTHER = {
    "type": {
        "acceptance": "message",
        "message": "agent_joined",
        "agent_joined": "message",
        "assigned": "agent_joined",
        "warning": "message",
        "closed": "resolved",
        "resolved": "closed",
    },
    "role": {"visitor": "agent", "agent": "visitor"},
    "state": {"closed": "resolved", "resolved": "closed"},
    "action": {
        "agent_joined": "replied",
        "replied": "agent_joined",
        "warned": "closed",
        "closed": "resolved",
        "resolved": "closed",
        "evidence_exported": "staff_added",
        "assigned": "agent_joined",
    },
}


def tokens(path: str) -> list[str | int]:
    return [int(i) if i else k for k, i in TOKEN.findall(path)]


def get(obj: Any, path: str) -> Any:
    for t in tokens(path):
        obj = obj[t]
    return obj


def parent(obj: Any, path: str) -> tuple[Any, str | int]:
    *head, last = tokens(path)
    for t in head:
        obj = obj[t]
    return obj, last


def put(obj: Any, path: str, value: Any) -> None:
    container, key = parent(obj, path)
    container[key] = value


def remove(obj: Any, path: str) -> None:
    container, key = parent(obj, path)
    del container[key]


def changed(path: str, value: Any) -> Any:
    """A different value of the same sensible kind, as a forger would write it."""
    key = str(tokens(path)[-1])
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if value is None:
        return "x"
    if isinstance(value, dict):
        return {**value, "x": "x"}
    if isinstance(value, list):
        return [*value, "x"]
    assert isinstance(value, str), f"{path}: unexpected {type(value).__name__}"
    if key in OTHER and value in OTHER[key]:
        return OTHER[key][value]
    if m := TIME.match(value):
        return value[:-4] + f"{(int(m.group(1)) + 1) % 1000:03d}Z"
    if key in ("signature", "public_key"):
        raw = bytearray(base64.b64decode(value))
        raw[0] ^= 1
        return base64.b64encode(bytes(raw)).decode()
    if HEX.match(value):
        return value[:-1] + ("1" if value[-1] == "0" else "0")
    if not value:
        return "x"
    return value[:-1] + ("y" if value[-1] != "y" else "z")


def sha256_hex(value: Any) -> str:
    """Independent of the verifier: SHA-256 of RFC 8785 JSON (our values have no floats)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def body(record: dict[str, Any]) -> dict[str, Any]:
    """What the hash of an audit entry or an event covers, from docs/compliance.md alone:
    every field but ``hash``; for an event of format 2, with each salted or erased field
    moved out of ``data`` into ``commitments``, and salts and erasures left out."""
    fields = {k: v for k, v in record.items() if k != "hash"}
    if record.get("format") != 2:
        return fields
    salts, erased = fields.pop("salts"), fields.pop("erased")
    commitments = {k: v["commitment"] for k, v in erased.items()}
    for name, salt in salts.items():
        value = json.dumps(record["data"][name], sort_keys=True, separators=(",", ":"),
                           ensure_ascii=False).encode()  # fmt: skip
        commitments[name] = hashlib.sha256(bytes.fromhex(salt) + value).hexdigest()
    data = {k: v for k, v in record["data"].items() if k not in commitments}
    return {**fields, "data": data, "commitments": commitments}


def relink_audit(bundle: Bundle) -> Bundle:
    """Rehash the bundle's audit entries in order, each linked to the one before it in
    the bundle (``thread_prev_hash``), as a forger who rewrote or dropped one would —
    and name the actor of the last "evidence exported" entry, if any is left, as the
    bundle's ``generated_by``."""
    prev = GENESIS
    for entry in bundle["audit"]:
        entry["thread_prev_hash"] = prev
        entry["hash"] = prev = sha256_hex(body(entry))
    exports = [e for e in bundle["audit"] if e["action"] == "evidence_exported"]
    if exports:
        bundle["generated_by"] = copy.deepcopy(exports[-1]["actor"])
    return bundle


def relist_agents(bundle: Bundle) -> Bundle:
    """List exactly the agent authors of the transcript, by id in order of first
    appearance, with the name the events give them (as the export does); an agent
    already listed keeps its role, a new one is listed as an agent."""
    roles = {a["id"]: a["role"] for a in bundle["agents"]}
    agents: dict[str, dict[str, Any]] = {}
    for e in bundle["transcript"]:
        author = e["author"]
        if author["role"] == "agent":
            role = roles.get(author["id"], "agent")
            agents[author["id"]] = {"id": author["id"], "name": author["name"], "role": role}
    bundle["agents"] = list(agents.values())
    return bundle


#: The events that cite a clause, and the notice template each is rendered from.
CITING = {"warning": "warning", "closed": "closure"}


def notice(template: str, clause: dict[str, Any], quoted: list[Any], conversation_id: str) -> str:
    """The notice a template gives, rendered here independently of the server: the
    placeholders of ``policies/policy.schema.json``, the quoted messages as a list."""
    examples = "".join(f"- \u201c{q['text']}\u201d\n" for q in quoted)
    return template.format(
        clause_id=clause["id"],
        clause_title=clause["title"],
        clause_text=clause["text"],
        examples=f"For example:\n{examples}\n" if quoted else "",
        conversation_id=conversation_id,
    ).strip()


def renotice(bundle: Bundle) -> Bundle:
    """Re-render the notice of every warning and closure from the templates of the
    accepted document, as a forger would after changing what one cites or quotes."""
    transcript = bundle["transcript"]
    acceptance = next((e for e in transcript if e["type"] == "acceptance"), None)
    templates = acceptance["data"]["document"].get("notice", {}) if acceptance else {}
    for e in transcript:
        if e["type"] in CITING and CITING[e["type"]] in templates:
            data = e["data"]
            template = templates[CITING[e["type"]]]
            data["notice"] = notice(
                template, data["clause"], data["messages"], e["conversation_id"]
            )
    return bundle


def requote(bundle: Bundle, renumbered: dict[int, int]) -> Bundle:
    """Make every warning and closure quote the messages it quoted as they now read, under
    their new seq (``renumbered``: old seq -> new), dropping those deleted, and re-render
    its notice."""
    by_seq = {e["seq"]: e for e in bundle["transcript"]}
    for e in bundle["transcript"]:
        if e["type"] in CITING and "messages" in e["data"]:
            seqs = sorted(
                renumbered[q["seq"]] for q in e["data"]["messages"] if q["seq"] in renumbered
            )
            e["data"]["messages"] = [{"seq": n, "text": by_seq[n]["data"]["text"]} for n in seqs]
    return renotice(bundle)


def reseal(bundle: Bundle, *, leaf: bool = False, quotes: bool = True) -> Bundle:
    """Make every record agree with the (edited) transcript, as a careful forger would.

    Renumbers the events; with ``quotes`` (the default), makes every warning and closure
    quote the messages as they now read and re-renders its notice (:func:`requote`);
    rehashes the chain, then rewrites the conversation summary, the acceptance, the
    closure and the agents list to match, and relinks the audit entries (keeping
    ``generated_by`` the exporter they record); with ``leaf``, also points the anchored
    leaf at the new heads (which the signed root still does not cover).
    """
    events = bundle["transcript"]
    renumbered: dict[int, int] = {}
    for seq, event in enumerate(events, start=1):
        renumbered.setdefault(event["seq"], seq)
        event["seq"] = seq
    if quotes:
        requote(bundle, renumbered)
    accepted = events[0]["data"]
    if "governing_sha256" in accepted and accepted["language"] == accepted["governing_language"]:
        # Accepted in the governing language: the governing text is the accepted one.
        accepted["governing_sha256"] = accepted["sha256"]
        bundle["governing"] = {k: accepted[k] for k in ("language", "sha256", "text")}
    prev = GENESIS
    for event in events:
        event["prev_hash"] = prev
        event["hash"] = prev = sha256_hex(body(event))
    first, last = events[0], events[-1]
    ending = next((e for e in events if e["type"] in ENDINGS), None)
    summary = bundle["conversation"]
    summary.update(last_seq=last["seq"], head_hash=last["hash"], updated_at=last["at"])
    summary.update(visitor_id=first["author"]["id"], started_at=first["at"])
    summary["policy"] = {k: first["data"].get(k) for k in ("policy_id", "version", "sha256")}
    if "language" in first["data"]:
        summary["policy"]["language"] = first["data"]["language"]
    summary["state"] = ending["type"] if ending else "open"
    summary["ended_at"] = ending["at"] if ending else None
    closing = ending if ending and ending["type"] == "closed" else None
    summary["closed_clause"] = closing["data"]["clause"]["id"] if closing else None
    assigned = [e for e in events if e["type"] == "assigned"]
    summary["assignee"] = assigned[-1]["data"]["agent"] if assigned else None
    bundle["acceptance"] = {
        "conversation_id": first["conversation_id"],
        "accepted_at": first["at"],
        "event_hash": first["hash"],
        **first["data"],
    }
    bundle["closure"] = copy.deepcopy(ending)
    relist_agents(bundle)
    relink_audit(bundle)
    if leaf:
        audit_head = bundle["audit"][-1]["hash"] if bundle["audit"] else None
        bundle["anchor"]["leaf"].update(
            seq=last["seq"], head_hash=last["hash"], audit_head=audit_head
        )
    return bundle


def leaf_hash(leaf: dict[str, Any]) -> bytes:
    canonical = json.dumps(leaf, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"\x00" + canonical.encode("utf-8")).digest()


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def resign(bundle: Bundle, key: Ed25519PrivateKey) -> Bundle:
    """Anchor the bundle's leaf alone in a fresh one-leaf log signed by ``key``."""
    anchor = bundle["anchor"]
    public = raw_public(key)
    checkpoint = {
        "origin": anchor["checkpoint"]["origin"],
        "tree_size": 1,
        "root_hash": leaf_hash(anchor["leaf"]).hex(),
        "at": anchor["checkpoint"]["at"],
        "key_id": hashlib.sha256(public).hexdigest()[:16],
    }
    signed = json.dumps(checkpoint, sort_keys=True, separators=(",", ":")).encode()
    anchor.update(
        leaf_index=0,
        inclusion_proof=[],
        checkpoint=checkpoint,
        signature=base64.b64encode(key.sign(signed)).decode(),
        note=signed_note(key, checkpoint["origin"], 1, leaf_hash(anchor["leaf"])),
        public_key=base64.b64encode(public).decode(),
    )
    return bundle


def signed_note(key: Ed25519PrivateKey, origin: str, size: int, root: bytes) -> str:
    """A C2SP checkpoint note, written from the specs (signed-note, tlog-checkpoint) alone."""
    text = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    key_id = hashlib.sha256(origin.encode() + b"\n\x01" + raw_public(key)).digest()[:4]
    signature = base64.b64encode(key_id + key.sign(text.encode())).decode()
    return f"{text}\n\u2014 {origin} {signature}\n"


def refused(bundle: Bundle, public_key: bytes | None = None) -> Report:
    report = verify(bundle, public_key)
    assert not report.ok, f"the tampered bundle verified: {report}"
    assert report.failure
    return report


def event(bundle: Bundle, i: int) -> dict[str, Any]:
    e: dict[str, Any] = bundle["transcript"][i]
    return e


# --------------------------------------------------------------------------------------
# 1. The untouched bundles verify.
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["closed", "resolved"])
def test_the_untouched_bundles_verify_with_and_without_the_key(
    bundles: dict[str, Bundle], public_key: bytes, which: str
) -> None:
    """Rule: a bundle exported by the real system passes every check."""
    bundle = bundles[which]
    alone = verify(bundle)
    assert (alone.ok, alone.passed, alone.failure, alone.self_signed) == (True, CHECKS, None, True)
    bound = verify(bundle, public_key)
    assert (bound.ok, bound.passed, bound.failure, bound.self_signed) == (True, CHECKS, None, False)


def test_the_bundles_cover_every_event_type(bundles: dict[str, Bundle]) -> None:
    """The matrix below only means something if the bundles hold every kind of event."""
    for which, events in EVENTS.items():
        transcript = bundles[which]["transcript"]
        got = [(e["type"], e["author"]["role"], tuple(leaves(e["data"]))) for e in transcript]
        expected = [(t, r, tuple(d) or ("",)) for t, r, d in events]
        assert got == expected, which
    closed = bundles["closed"]
    accepted = event(closed, 0)["data"]
    assert {k: accepted[k] for k in ("locale", "time_zone", "page_url", "widget_build")} == {
        "locale": "en-GB",
        "time_zone": "Europe/Paris",
        "page_url": "https://shop.example/help/returns",
        "widget_build": "w-2024.11-evidence",
    }
    assert accepted["text"] == POLICY_V2.text
    for bundle in bundles.values():
        assert event(bundle, 0)["data"]["document"] == POLICY_V2.to_document()
    warning, closing = event(closed, WARNING)["data"], event(closed, CLOSING)["data"]
    assert warning["clause"] == asdict(POLICY_V2.clause("4.1"))
    assert warning["note"] == "repeated, in capital letters"
    assert warning["messages"] == [{"seq": 4, "text": SHOUTED}, {"seq": 8, "text": SHOUTED}]
    assert [event(closed, i)["data"]["text"] for i in (SHOUT, SHOUT_AGAIN)] == [SHOUTED] * 2
    assert closing["clause"] == asdict(POLICY_V2.clause("1.2"))
    assert closing["note"] == "threat against staff"
    assert closing["messages"] == [{"seq": 10, "text": THREAT_TEXT}]
    assert event(closed, THREAT)["data"]["text"] == THREAT_TEXT
    assert closing["bar"] is None
    conversation_id = closed["conversation"]["id"]
    assert warning["notice"] == (
        "Please note: our conduct policy, which you accepted, asks that you follow rule 4.1, "
        f'"Flooding":\n\n{POLICY_V2.clause("4.1").text}\n\nFor example:\n'
        f"- \u201c{SHOUTED}\u201d\n- \u201c{SHOUTED}\u201d\n\n"
        "If this continues, we may end the conversation."
    )
    assert closing["notice"].startswith("We have ended this conversation because messages")
    assert f"\u201c{THREAT_TEXT}\u201d" in closing["notice"]
    assert closing["notice"].endswith(f"quoting the reference {conversation_id}.")
    assert [e["action"] for e in closed["audit"]] == [
        "assigned", "agent_joined", "replied", "warned", "closed", "evidence_exported"
    ]  # fmt: skip


def test_the_independent_hashing_reproduces_the_real_chain(bundles: dict[str, Bundle]) -> None:
    """The forgeries below recompute hashes; they are only meaningful if that matches."""
    for bundle in bundles.values():
        prev = GENESIS
        for e in bundle["transcript"]:
            assert e["prev_hash"] == prev
            assert sha256_hex(body(e)) == e["hash"]
            prev = e["hash"]
        prev = GENESIS
        for entry in bundle["audit"]:
            assert entry["thread_prev_hash"] == prev
            assert sha256_hex(body(entry)) == entry["hash"]
            prev = entry["hash"]
        assert bundle["anchor"]["leaf"]["audit_head"] == prev
        assert reseal(copy.deepcopy(bundle), leaf=True) == bundle, "reseal must be a no-op"


def test_the_cli_says_valid(evidence: Any, tmp_path: Path) -> None:
    """Rule: ``parley evidence verify`` exits 0 on an untouched bundle, with any key form."""
    pem = tmp_path / "operator.pem"
    pem.write_text(evidence.public_key_pem)
    for path, bundle in (
        (evidence.closed_path, evidence.closed),
        (evidence.resolved_path, evidence.resolved),
    ):
        n, heads = len(bundle["transcript"]), bundle["anchor"]["checkpoint"]["tree_size"]
        alone = parley("evidence", "verify", str(path))
        assert alone.returncode == 0, alone.stdout + alone.stderr
        assert [f"ok    {c}" for c in CHECKS] == alone.stdout.splitlines()[: len(CHECKS)]
        assert f"VALID: conversation {bundle['conversation']['id']}, {n} events, " in alone.stdout
        assert f", anchored in a log of {heads} heads" in alone.stdout
        assert "note: the signature was checked against the key inside the bundle" in alone.stdout
    for key in (evidence.public_key_b64, str(pem)):
        bound = parley("evidence", "verify", str(evidence.closed_path), "--public-key", key)
        assert bound.returncode == 0, bound.stdout + bound.stderr
        assert "VALID" in bound.stdout
        assert "note:" not in bound.stdout


# --------------------------------------------------------------------------------------
# 2 and 3. THE MATRIX: every field of every record.
# --------------------------------------------------------------------------------------


def test_every_leaf_of_the_real_bundles_is_classified(bundles: dict[str, Bundle]) -> None:
    """Rule: no field of a bundle escapes the matrix without a written reason."""
    for which, bundle in bundles.items():
        real = set(leaves(bundle))
        listed = set(must_detect(which)) | set(ALLOWED_UNCHECKED)
        assert real - listed == set(), f"{which}: fields neither tested nor allowed"
        assert listed - real == set(), f"{which}: listed fields the bundle does not have"


@pytest.mark.parametrize(("which", "path"), MUST_DETECT, ids=ids(MUST_DETECT))
def test_an_edit_of_any_field_is_detected(
    bundles: dict[str, Bundle], public_key: bytes, which: str, path: str
) -> None:
    """Rule (invariant 5): editing any field of the record makes the bundle invalid."""
    bundle = bundles[which]
    before = get(bundle, path)
    put(bundle, path, changed(path, before))
    assert get(bundle, path) != before
    refused(bundle)
    if path not in ALLOWED_UNCHECKED_WITH_KEY:
        refused(bundle, public_key)


@pytest.mark.parametrize(("which", "path"), MUST_DETECT, ids=ids(MUST_DETECT))
def test_a_removed_field_is_detected(
    bundles: dict[str, Bundle], public_key: bytes, which: str, path: str
) -> None:
    """Rule: dropping a field of the record makes the bundle invalid (or unreadable) — a
    field whose value is null too: absent is not null, in a hashed record (an event's
    ``author.name``) as in a copy of one (the acceptance's ``affirmation``, the summary's
    ``closed_clause``)."""
    bundle = bundles[which]
    remove(bundle, path)
    if path in OPTIONAL:
        report = verify(bundle, public_key)
        assert report.ok and len(report.passed) == len(CHECKS) - (path == "anchor.note")
        return
    refused(bundle)
    if path not in ALLOWED_UNCHECKED_WITH_KEY:
        refused(bundle, public_key)


EVENT_DATA = [
    (which, f"transcript[{i}].data") for which, events in EVENTS.items() for i in range(len(events))
]


@pytest.mark.parametrize(("which", "path"), EVENT_DATA, ids=ids(EVENT_DATA))
def test_a_key_added_to_an_events_data_is_detected(
    bundles: dict[str, Bundle], public_key: bytes, which: str, path: str
) -> None:
    """Rule: an event's data is hashed whole: a key slipped in breaks the hash."""
    bundle = bundles[which]
    get(bundle, path)["retracted"] = True
    report = refused(bundle, public_key)
    assert report.passed == []


SEALED_CONTAINERS = [
    ("closed", f"transcript[{WARNING}].data.clause"),
    ("closed", f"transcript[{WARNING}].data.messages[1]"),
    ("closed", f"transcript[{CLOSING}].data.clause"),
    ("closed", f"transcript[{CLOSING}].data.messages[0]"),
    ("closed", "acceptance"),
    ("closed", "acceptance.document.notice"),
    ("closed", "closure"),
    ("closed", "closure.data"),
    ("closed", "closure.data.messages[0]"),
    ("resolved", "closure"),
    ("closed", "audit[2].actor"),
    ("closed", "audit[2].details"),
    ("closed", "anchor.leaf"),
    ("closed", "anchor.checkpoint"),
]


@pytest.mark.parametrize(("which", "path"), SEALED_CONTAINERS, ids=ids(SEALED_CONTAINERS))
def test_a_key_added_to_a_sealed_record_is_detected(
    bundles: dict[str, Bundle], public_key: bytes, which: str, path: str
) -> None:
    """Rule: records copied from, or committed by, a hash or signature take no extra keys."""
    get(bundles[which], path)["retracted"] = True
    refused(bundles[which], public_key)


HASHED_RECORDS = {
    ("closed", "transcript[3]"): (0, "event 4 has fields outside the hashed record"),
    ("closed", "transcript[3].author"): (0, "event 4 has fields outside the hashed record"),
    ("resolved", "transcript[3].author"): (0, "event 4 has fields outside the hashed record"),
    ("closed", "closure.author"): (2, "the closure record differs from the closing event"),
    ("closed", "audit[2]"): (3, "audit entry 5 has fields outside the hashed record"),
    ("resolved", "audit[3]"): (3, "audit entry 11 has fields outside the hashed record"),
}


@pytest.mark.parametrize(("which", "path"), HASHED_RECORDS, ids=ids(list(HASHED_RECORDS)))
def test_a_key_added_to_an_event_author_or_audit_entry_is_detected(
    bundles: dict[str, Bundle], public_key: bytes, which: str, path: str
) -> None:
    """Rule: a hashed record holds exactly its hashed fields — an event, its author or an
    audit entry cannot carry ``"retracted": true`` (or a second text under another name)
    that the hash does not cover: each must round-trip exactly."""
    passed, failure = HASHED_RECORDS[which, path]
    bundle = bundles[which]
    get(bundle, path)["retracted"] = True
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:passed]
        assert str(report.failure).startswith(failure), report.failure


SUMMARY_CASES = [(which, path) for which in EVENTS for path in SUMMARY_RESTATED]


@pytest.mark.parametrize(("which", "path"), SUMMARY_CASES, ids=ids(SUMMARY_CASES))
def test_the_conversation_summary_agrees_with_the_events(
    bundles: dict[str, Bundle], public_key: bytes, which: str, path: str
) -> None:
    """Rule: the conversation summary restates facts of the chained events (SUMMARY_RESTATED)
    and must agree with them: it cannot claim another visitor, policy version, state,
    clause, head or time."""
    bundle = bundles[which]
    put(bundle, path, changed(path, get(bundle, path)))
    field = tokens(path)[1]
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == [], f"{path} ({SUMMARY_RESTATED[path]}) was doctored unnoticed"
        assert report.failure == f"the conversation summary disagrees with the events in: {field}"


AGENTS_DIFFER = "the list of agents involved differs from the agents in the transcript"
EXPORTER_DIFFERS = "the bundle's exporter is not the actor of its audited export"
RESTATED_CASES = [(which, path) for which in EVENTS for path in RESTATED]


@pytest.mark.parametrize(("which", "path"), RESTATED_CASES, ids=ids(RESTATED_CASES))
def test_the_restated_records_agree_with_what_they_restate(
    bundles: dict[str, Bundle], public_key: bytes, which: str, path: str
) -> None:
    """Rule: ``generated_by`` is the actor of the audited export (checked with the audit
    entries) and ``agents`` lists the agent authors of the events (checked with the
    chain): neither can name someone else, though neither is hashed or anchored."""
    bundle = bundles[which]
    put(bundle, path, changed(path, get(bundle, path)))
    if path == "generated_at":
        passed, failure = 3, "the bundle's generation time is not the time of its audited export"
    elif path.startswith("generated_by"):
        passed, failure = 3, EXPORTER_DIFFERS
    else:
        passed, failure = 0, AGENTS_DIFFER
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:passed], f"{path} ({RESTATED[path]}) doctored unnoticed"
        assert report.failure == failure


NULL_FIELDS = {
    # a field whose value is null in the real bundle: (checks passed, failure)
    ("closed", "acceptance.affirmation"): (1, "the acceptance record differs from event 1 in"),
    ("resolved", "acceptance.affirmation"): (1, "the acceptance record differs from event 1 in"),
    ("resolved", "conversation.closed_clause"): (
        0,
        "the conversation summary disagrees with the events in",
    ),
}


@pytest.mark.parametrize(("which", "path"), NULL_FIELDS, ids=ids(list(NULL_FIELDS)))
def test_a_null_field_removed_from_a_copy_is_detected(
    bundles: dict[str, Bundle], public_key: bytes, which: str, path: str
) -> None:
    """Rule: in the acceptance record and the conversation summary a missing key is not a
    null one — the copy must hold the key, null, as the record it restates does."""
    passed, failure = NULL_FIELDS[which, path]
    bundle = bundles[which]
    assert get(bundle, path) is None, f"{path} is no longer null in the real bundle"
    remove(bundle, path)
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:passed]
        assert report.failure == f"{failure}: {tokens(path)[-1]}"


@pytest.mark.parametrize("field", ["ended_at", "closed_clause"])
def test_a_null_field_removed_from_the_summary_of_an_open_transcript_is_detected(
    bundles: dict[str, Bundle], public_key: bytes, field: str
) -> None:
    """Rule: absent is not null in the summary of a conversation that has not ended
    either — caught by the summary, before the anchor that the truncation fails."""
    bundle = bundles["closed"]
    bundle["transcript"] = bundle["transcript"][:4]
    reseal(bundle, leaf=True)
    assert bundle["conversation"][field] is None
    del bundle["conversation"][field]
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == []
        assert report.failure == f"the conversation summary disagrees with the events in: {field}"


def test_a_null_key_added_to_the_acceptance_record_is_detected(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule: the acceptance record holds exactly event 1's fields: an extra key is
    refused even when its value is null."""
    bundle = bundles["closed"]
    bundle["acceptance"]["retracted"] = None
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:1]
        assert report.failure == "the acceptance record differs from event 1 in: retracted"


SOMEONE_ELSE = {"id": "s_someone_else", "name": "Someone Else", "role": "agent"}
AGENT_EDITS = {
    "another agent added": lambda b: b["agents"].append(dict(SOMEONE_ELSE)),
    "the visitor added as an agent": lambda b: b["agents"].append(
        {"id": b["conversation"]["visitor_id"], "name": None, "role": "agent"}
    ),
    "the agent listed twice": lambda b: b["agents"].append(copy.deepcopy(b["agents"][0])),
    "the agent listed twice under two names": lambda b: b["agents"].insert(
        0, {**b["agents"][0], "name": "Someone Else"}
    ),
    "the agent removed": lambda b: b["agents"].clear(),
    "the agent renamed": lambda b: b["agents"][0].update(name="Someone Else"),
    "the agent replaced by another": lambda b: b["agents"].__setitem__(0, dict(SOMEONE_ELSE)),
}
AGENT_CASES = [(which, edit) for which in EVENTS for edit in AGENT_EDITS]


@pytest.mark.parametrize(("which", "edit"), AGENT_CASES, ids=ids(AGENT_CASES))
def test_the_agents_list_is_exactly_the_agents_of_the_transcript(
    bundles: dict[str, Bundle], public_key: bytes, which: str, edit: str
) -> None:
    """Rule: the bundle's ``agents`` maps each agent author of the events to the name the
    events give them, once: no agent added, dropped, renamed or listed twice."""
    bundle = bundles[which]
    authors = {e["author"]["id"] for e in bundle["transcript"] if e["author"]["role"] == "agent"}
    assert [a["id"] for a in bundle["agents"]] == sorted(authors), "one agent in each bundle"
    AGENT_EDITS[edit](bundle)
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == []
        assert report.failure == AGENTS_DIFFER


FORGETFUL: dict[str, Callable[[Bundle], Any]] = {
    # a consistent rewrite of the events whose forger leaves the agents list as exported
    "agent renamed": lambda b: [
        e["author"].update(name="Someone Else")
        for e in b["transcript"]
        if e["author"]["role"] == "agent"
    ],
    "truncated before the agent joined": lambda b: b.update(transcript=b["transcript"][:4]),
}


@pytest.mark.parametrize("rewrite", FORGETFUL)
def test_a_rewrite_that_leaves_the_agents_list_is_caught_by_it(
    bundles: dict[str, Bundle], public_key: bytes, rewrite: str
) -> None:
    """Rule: a transcript rewritten (every hash, summary, copy and the leaf recomputed,
    the checkpoint re-signed) but still listing the agents of the original is refused at
    the chain check, before any key is needed."""
    bundle = bundles["closed"]
    exported = copy.deepcopy(bundle["agents"])
    FORGETFUL[rewrite](bundle)
    reseal(bundle, leaf=True)
    assert bundle["agents"] != exported, "reseal lists the agents of the rewritten events"
    bundle["agents"] = exported
    resign(bundle, Ed25519PrivateKey.generate())
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == []
        assert report.failure == AGENTS_DIFFER


ALLOWED = sorted(ALLOWED_UNCHECKED)


@pytest.mark.parametrize("path", ALLOWED)
def test_the_allowed_unchecked_fields_are_really_unchecked(
    bundles: dict[str, Bundle], public_key: bytes, path: str
) -> None:
    """Keeps ALLOWED_UNCHECKED honest: if a check starts covering a field, move it to the
    matrix. A field listed here changes nothing that the verifier vouches for."""
    bundle = bundles["closed"]
    put(bundle, path, changed(path, get(bundle, path)))
    assert verify(bundle, public_key).ok, f"{path} is checked now: move it to MUST_DETECT"


def test_the_bundles_public_key_is_ignored_when_the_operators_key_is_given(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """ALLOWED_UNCHECKED_WITH_KEY: with --public-key, only the operator's key counts."""
    bundle = bundles["closed"]
    fresh = base64.b64encode(raw_public(Ed25519PrivateKey.generate())).decode()
    bundle["anchor"]["public_key"] = fresh
    assert verify(bundle, public_key).ok
    assert "checkpoint names key" in str(refused(bundle).failure)


VISUAL_EDITS: dict[str, Callable[[str], str]] = {
    "trailing space": lambda s: s + " ",
    "decomposed accents (NFD)": lambda s: unicodedata.normalize("NFD", s),
    "zero-width space": lambda s: s.replace(" ", " \u200b", 1),
    "Cyrillic o for Latin o": lambda s: s.replace("o", "\u043e", 1),
    "no-break space": lambda s: s.replace(" ", "\u00a0", 1),
}


@pytest.mark.parametrize("edit", VISUAL_EDITS)
def test_an_invisible_edit_of_a_message_is_detected(
    bundles: dict[str, Bundle], public_key: bytes, edit: str
) -> None:
    """Rule: the hash covers the exact characters, not what they look like."""
    bundle = bundles["closed"]
    message = event(bundle, 2)["data"]
    assert "où" in message["text"]
    message["text"] = VISUAL_EDITS[edit](message["text"])
    report = refused(bundle, public_key)
    assert report.failure == "event 3 was altered: its content does not match its hash"


# --------------------------------------------------------------------------------------
# 4. Structural attacks.
# --------------------------------------------------------------------------------------


DELETED = [(0, "position 1"), (SHOUT, "position 4"), (WARNING, "position 9"), (CLOSING, "")]


@pytest.mark.parametrize(("position", "expected"), DELETED)
def test_a_deleted_event_is_detected(
    bundles: dict[str, Bundle], public_key: bytes, position: int, expected: str
) -> None:
    """Rule: no event can be deleted — first, middle (a quoted message, the warning) or last."""
    bundle = bundles["closed"]
    del bundle["transcript"][position]
    report = refused(bundle, public_key)
    assert report.passed == []
    assert expected in str(report.failure)


@pytest.mark.parametrize("position", [1, SHOUT, WARNING, CLOSING])
def test_a_copied_event_inserted_is_detected(
    bundles: dict[str, Bundle], public_key: bytes, position: int
) -> None:
    """Rule: no event can be replayed into the transcript."""
    bundle = bundles["closed"]
    bundle["transcript"].insert(position + 1, copy.deepcopy(event(bundle, position)))
    assert refused(bundle, public_key).passed == []


def test_two_events_swapped_are_detected(bundles: dict[str, Bundle], public_key: bytes) -> None:
    """Rule: the order of events cannot change."""
    bundle = bundles["closed"]
    t = bundle["transcript"]
    t[2], t[3] = t[3], t[2]
    assert refused(bundle, public_key).passed == []


def test_events_swapped_with_their_seq_swapped_too_are_detected(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule: renumbering reordered events does not hide the reordering (the links break)."""
    bundle = bundles["closed"]
    t = bundle["transcript"]
    t[2], t[3] = t[3], t[2]
    t[2]["seq"], t[3]["seq"] = 3, 4
    report = refused(bundle, public_key)
    assert report.passed == []


def forged_message(bundle: Bundle, text: str) -> dict[str, Any]:
    forged = copy.deepcopy(event(bundle, 1))
    forged.update(data={"text": text}, client_id="forged")
    return forged


REWRITES: dict[str, Callable[[Bundle], Any]] = {
    "forged event inserted": lambda b: b["transcript"].insert(
        4, forged_message(b, "Sorry, I was rude. Please ignore my last message.")
    ),
    "threat reworded": lambda b: event(b, THREAT)["data"].update(text="Could you please hurry up?"),
    "quoted message deleted": lambda b: b["transcript"].pop(SHOUT),
    "two events reordered": lambda b: b["transcript"].insert(2, b["transcript"].pop(SHOUT)),
    "warning deleted": lambda b: b["transcript"].pop(WARNING),
    "warning reworded": lambda b: event(b, WARNING)["data"].update(note="a friendly reminder"),
    "warning cites another clause": lambda b: event(b, WARNING)["data"].update(
        clause=asdict(POLICY_V2.clause("4.2"))
    ),
    "closure quotes a message less": lambda b: event(b, CLOSING)["data"].update(messages=[]),
    "closure quotes another message": lambda b: event(b, CLOSING)["data"]["messages"].append(
        {"seq": 2, "text": ""}
    ),
    "closure claims a bar": lambda b: event(b, CLOSING)["data"].update(
        bar={"scope": "visitor", "until": None}
    ),
    "agent renamed": lambda b: [
        e["author"].update(name="Someone Else")
        for e in b["transcript"]
        if e["author"]["role"] == "agent"
    ],
    "time moved": lambda b: event(b, CLOSING).update(at="2026-01-01T00:00:00.000Z"),
    "truncated before the closure": lambda b: b.update(transcript=b["transcript"][:CLOSING]),
    "truncated before the agent joined": lambda b: b.update(transcript=b["transcript"][:4]),
}


@pytest.mark.parametrize("leaf", [False, True], ids=["leaf-kept", "leaf-rewritten"])
@pytest.mark.parametrize("rewrite", REWRITES)
def test_a_consistent_rewrite_is_caught_by_the_anchor(
    bundles: dict[str, Bundle], public_key: bytes, rewrite: str, leaf: bool
) -> None:
    """Rule: even with every hash, seq, summary and copy recomputed — and every quote and
    notice of the warning and the closure made to agree — a rewritten transcript is
    refused, because its head is not the one anchored under the signed root."""
    bundle = bundles["closed"]
    REWRITES[rewrite](bundle)
    reseal(bundle, leaf=leaf)
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == UP_TO_THE_ANCHOR, report.failure
        failure = str(report.failure)
        if leaf:
            assert failure.startswith("the inclusion proof does not lead"), failure
        else:
            assert failure.startswith("the anchored head is not event"), failure


def test_a_truncated_transcript_with_fixed_up_summaries_is_refused(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule: a prefix of the transcript is not the anchored transcript (the anchored head)."""
    bundle = bundles["closed"]
    bundle["transcript"] = bundle["transcript"][:4]
    reseal(bundle)
    assert bundle["closure"] is None and bundle["conversation"]["last_seq"] == 4
    assert bundle["agents"] == [], "no agent had joined by event 4"
    report = refused(bundle, public_key)
    assert report.failure == "the anchored head is not event 4, the transcript's last"


def swap_policy(bundle: Bundle, version: Any, *, document: bool = True) -> None:
    """Make event 1 accept ``version`` (its text and digest, and with ``document`` its
    structured copy too) and the warning and the closure cite that version's clauses."""
    accepted = event(bundle, 0)["data"]
    accepted.update(version=version.version, title=version.title, text=version.text)
    accepted.update(sha256=hashlib.sha256(version.text.encode("utf-8")).hexdigest())
    if document:
        accepted["document"] = version.to_document()
    for i in (WARNING, CLOSING):
        citing = event(bundle, i)["data"]
        clause = asdict(version.clause(citing["clause"]["id"]))
        citing.update(version=version.version, sha256=accepted["sha256"], clause=clause)


def test_a_swapped_policy_text_without_its_document_is_refused_by_the_acceptance_check(
    bundles: dict[str, Bundle],
) -> None:
    """Rule (invariant 2): the accepted text is the canonical text of the structured
    version event 1 carries — swapping the text (digest, citation, every hash and even
    the signature recomputed) without the document is caught before the anchor."""
    bundle = bundles["closed"]
    swap_policy(bundle, POLICY_V1, document=False)
    reseal(bundle, leaf=True)
    resign(bundle, Ed25519PrivateKey.generate())
    assert bundle["acceptance"]["text"] == POLICY_V1.text
    report = refused(bundle)
    assert report.passed == CHECKS[:1]
    assert report.failure == "event 1: the accepted text is not the text of the policy it carries"


def test_a_swapped_policy_with_everything_recomputed_is_caught_by_the_anchor(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule (invariant 2): the version the visitor accepted cannot be swapped for another,
    even when the text, the structured document, the digest, the closure's citation,
    every hash, summary and copy agree — the warning citing version 1's wording of
    clause 4.1, which differs from version 2's, and every notice re-rendered: only the
    signed anchor tells."""
    bundle = bundles["closed"]
    assert POLICY_V1.clause("4.1") != POLICY_V2.clause("4.1")
    swap_policy(bundle, POLICY_V1)
    reseal(bundle, leaf=True)
    assert bundle["acceptance"]["document"] == POLICY_V1.to_document()
    assert bundle["conversation"]["policy"]["version"] == 1
    warning = event(bundle, WARNING)["data"]
    assert warning["clause"] == asdict(POLICY_V1.clause("4.1"))
    assert warning["clause"]["text"] in warning["notice"]
    assert bundle["closure"]["data"]["clause"] == asdict(POLICY_V1.clause("1.2"))
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == UP_TO_THE_ANCHOR
        assert str(report.failure).startswith("the inclusion proof does not lead")

    resign(bundle, Ed25519PrivateKey.generate())
    assert verify(bundle).ok, "self-consistent: without the operator's key it verifies"
    report = refused(bundle, public_key)
    assert report.passed == CHECKS[:5]
    assert str(report.failure).startswith("the checkpoint names key ")


def test_a_document_whose_clause_differs_from_the_accepted_text_is_refused(
    bundles: dict[str, Bundle],
) -> None:
    """Rule (invariant 2): the structured copy of the version is the accepted text, clause
    by clause — one clause reworded in the document alone is caught, every hash, summary
    and copy recomputed and the checkpoint re-signed."""
    bundle = bundles["closed"]
    document = event(bundle, 0)["data"]["document"]
    clause = document["sections"][0]["clauses"][1]
    assert clause["id"] == "1.2"
    clause["text"] = clause["text"].replace("violence or other harm", "violence")
    reseal(bundle, leaf=True)
    resign(bundle, Ed25519PrivateKey.generate())
    report = refused(bundle)
    assert report.passed == CHECKS[:1]
    assert report.failure == "event 1: the accepted text is not the text of the policy it carries"


@pytest.mark.parametrize(
    "path", [f"transcript[0].data.{p}" for p in DOCUMENT if p not in NOTICE_TEMPLATES]
)
def test_any_edit_of_the_document_is_refused_by_the_acceptance_check(
    bundles: dict[str, Bundle], path: str
) -> None:
    """Rule (invariant 2): every field of the structured version but its notice templates
    is bound to the accepted text: an edit of any of them, with every hash, summary and
    copy recomputed and the checkpoint re-signed, no longer rebuilds the text (or no
    longer is a policy). The templates are bound by the notices rendered from them (see
    the moderation tests below)."""
    bundle = bundles["closed"]
    put(bundle, path, changed(path, get(bundle, path)))
    reseal(bundle, leaf=True)
    resign(bundle, Ed25519PrivateKey.generate())
    report = refused(bundle)
    assert report.passed == CHECKS[:1]
    failure = str(report.failure)
    assert failure == "event 1: the accepted text is not the text of the policy it carries" or (
        # a section id its clauses no longer start with, or an effective time that is not one
        failure.startswith("acceptance record: the bundle is malformed (PolicyInvalid: event 1: $.")
    ), failure


def test_a_policy_text_whose_digest_was_not_updated_is_refused(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule: the accepted text must hash to the digest it was accepted under."""
    bundle = bundles["closed"]
    event(bundle, 0)["data"]["text"] = POLICY_V1.text
    reseal(bundle, leaf=True)
    report = refused(bundle, public_key)
    assert report.failure == "event 1: the accepted text does not hash to its recorded sha256"


def cite(bundle: Bundle, clause: Any, index: int = CLOSING) -> None:
    event(bundle, index)["data"]["clause"] = asdict(clause)


def test_another_clause_of_the_accepted_text_cited_consistently_is_refused(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule (invariant 4): the clause a closure cited cannot be swapped afterwards, even for
    another real clause of the accepted text with its notice re-rendered and every hash
    recomputed."""
    bundle = bundles["closed"]
    cite(bundle, POLICY_V2.clause("1.1"))
    reseal(bundle, leaf=True)
    assert bundle["closure"]["data"]["clause"]["id"] == "1.1"
    assert POLICY_V2.clause("1.1").text in bundle["closure"]["data"]["notice"]
    assert refused(bundle, public_key).passed == UP_TO_THE_ANCHOR


def test_a_clause_the_visitor_never_accepted_is_refused_by_the_citation_check(
    bundles: dict[str, Bundle],
) -> None:
    """Rule (invariant 4): a closure cites a clause of the text accepted in this
    conversation — here clause 1.1 as worded in version 1, which differs in version 2."""
    bundle = bundles["closed"]
    assert POLICY_V1.clause("1.1") != POLICY_V2.clause("1.1")
    cite(bundle, POLICY_V1.clause("1.1"))
    reseal(bundle, leaf=True)
    report = refused(resign(bundle, Ed25519PrivateKey.generate()))
    assert report.passed == CHECKS[:2]
    assert report.failure == "event 11: clause 1.1 is not quoted word for word"


def test_a_clause_cut_short_at_a_paragraph_break_is_refused_by_the_citation_check(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule (invariant 4): the closure quotes the whole clause, word for word — not a
    prefix that stops at a paragraph break (here dropping "Asking to speak to a supervisor
    ... is not a threat"), even with the event re-hashed, every summary and copy
    recomputed and the checkpoint re-signed."""
    bundle = bundles["closed"]
    clause = event(bundle, CLOSING)["data"]["clause"]
    first, rest = clause["text"].split("\n\n", 1)
    assert first and rest and first in event(bundle, 0)["data"]["text"]
    clause["text"] = first
    reseal(bundle, leaf=True)
    resign(bundle, Ed25519PrivateKey.generate())
    assert bundle["closure"]["data"]["clause"]["text"] == first
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:2]
        assert report.failure == "event 11: clause 1.2 is not quoted word for word"


def test_a_clause_cut_short_in_the_accepted_version_too_is_caught_by_the_anchor(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule (invariants 2 and 4): cutting the clause in the accepted version as well (text,
    document, digest, citation, every hash and copy) is consistent, so only the signed
    anchor tells."""
    bundle = bundles["closed"]
    clause = event(bundle, CLOSING)["data"]["clause"]
    first = clause["text"].split("\n\n", 1)[0]
    clause["text"] = first
    accepted = event(bundle, 0)["data"]
    accepted["document"]["sections"][0]["clauses"][1]["text"] = first
    text = from_document(accepted["document"], "forged").text
    accepted.update(text=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest())
    event(bundle, WARNING)["data"]["sha256"] = accepted["sha256"]
    event(bundle, CLOSING)["data"]["sha256"] = accepted["sha256"]
    reseal(bundle, leaf=True)
    report = refused(bundle, public_key)
    assert report.passed == UP_TO_THE_ANCHOR
    assert str(report.failure).startswith("the inclusion proof does not lead")


def test_a_closure_citing_another_version_is_refused_by_the_citation_check(
    bundles: dict[str, Bundle],
) -> None:
    """Rule (invariant 4): the closure cites the version accepted, not whatever is current."""
    bundle = bundles["closed"]
    event(bundle, CLOSING)["data"].update(version=1, sha256=POLICY_V1.sha256)
    reseal(bundle, leaf=True)
    report = refused(resign(bundle, Ed25519PrivateKey.generate()))
    assert report.passed == CHECKS[:2]
    assert report.failure == "event 11: it cites a policy version not accepted here"


# --------------------------------------------------------------------------------------
# Warnings and closures (invariant 4): the clause, the quoted messages, the notice.
# Each forgery below is consistent in everything the citation check does not cover:
# the event re-hashed, every summary and copy recomputed, the leaf rewritten and the
# checkpoint re-signed — and, unless the notice is what is forged, the notice
# re-rendered to agree with what the event now cites and quotes.
# --------------------------------------------------------------------------------------


def forge(bundle: Bundle, *, notices: bool = True) -> Bundle:
    """Recompute everything but the quotes (and with ``notices``, re-render every notice
    from what its event now cites and quotes); re-sign under a forger's key."""
    if notices:
        renotice(bundle)
    reseal(bundle, leaf=True, quotes=False)
    return resign(bundle, Ed25519PrivateKey.generate())


def refused_at_citation(bundle: Bundle, public_key: bytes, failure: str) -> None:
    """The bundle passes the chain and acceptance checks, and fails the citation check
    with ``failure`` — with or without the operator's key."""
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:2], report.failure
        assert report.failure == failure


@pytest.mark.parametrize("notices", [True, False])
def test_the_forgeries_below_start_from_a_bundle_that_verifies(
    bundles: dict[str, Bundle], public_key: bytes, notices: bool
) -> None:
    """:func:`forge` alone changes nothing the verifier checks but the signer: each
    refusal below is the forged detail's, not the forging's."""
    bundle = forge(bundles["closed"], notices=notices)
    assert verify(bundle).ok
    assert refused(bundle, public_key).passed == CHECKS[:5]


QUOTES = {
    # (citing event, quote index, quoted event)
    "warning, 1st quote": (WARNING, 0, SHOUT),
    "warning, 2nd quote": (WARNING, 1, SHOUT_AGAIN),
    "closure": (CLOSING, 0, THREAT),
}
QUOTE_CASES = [(quote, side) for quote in QUOTES for side in ("the quote", "the message")]


@pytest.mark.parametrize(("quote", "side"), QUOTE_CASES, ids=ids(QUOTE_CASES))
def test_a_quote_that_differs_from_the_message_is_refused_by_the_citation_check(
    bundles: dict[str, Bundle], public_key: bytes, quote: str, side: str
) -> None:
    """Rule (invariant 4): a warning or closure quotes the visitor's message exactly as the
    transcript holds it — neither the quote nor the message can be reworded alone (here
    only by a zero-width space), even with the notice re-rendered from the new wording
    and every hash, copy and the signature recomputed."""
    citing, index, quoted = QUOTES[quote]
    bundle = bundles["closed"]
    q = event(bundle, citing)["data"]["messages"][index]
    assert q == {"seq": quoted + 1, "text": event(bundle, quoted)["data"]["text"]}
    edited = q["text"].replace(" ", " \u200b", 1)
    if side == "the quote":
        q["text"] = edited
    else:
        event(bundle, quoted)["data"]["text"] = edited
    forge(bundle)
    assert (edited in event(bundle, citing)["data"]["notice"]) == (side == "the quote")
    failure = f"event {citing + 1}: the message it quotes as seq {quoted + 1} differs"
    refused_at_citation(bundle, public_key, failure)


OTHER_SOURCES = {
    # what a quote is made to point at: (citing event, quote index, quoted event)
    "the agent's reply, by the warning": (WARNING, 1, REPLY),
    "the agent's reply, by the closure": (CLOSING, 0, REPLY),
    "a later message of the visitor, by the warning": (WARNING, 1, THREAT),
    "the acceptance, by the closure": (CLOSING, 0, 0),
    "the warning itself": (WARNING, 0, WARNING),
    "the closure itself": (CLOSING, 0, CLOSING),
    "an event past the end, by the closure": (CLOSING, 0, 98),
}


@pytest.mark.parametrize("source", OTHER_SOURCES)
def test_a_quote_of_anything_but_an_earlier_visitor_message_is_refused(
    bundles: dict[str, Bundle], public_key: bytes, source: str
) -> None:
    """Rule (invariant 4): a warning or closure quotes messages the visitor had sent before
    it — not an agent's message, not a later message, not another kind of event, not a
    seq the transcript does not have — even quoting that event's text exactly (where it
    has one), with the notice re-rendered and every hash, copy and the signature
    recomputed."""
    citing, index, target = OTHER_SOURCES[source]
    bundle = bundles["closed"]
    transcript = bundle["transcript"]
    data = transcript[target]["data"] if target < len(transcript) else {}
    text = data.get("text", SHOUTED)
    quotes = event(bundle, citing)["data"]["messages"]
    quotes[index] = {"seq": target + 1, "text": text}
    quotes.sort(key=lambda q: q["seq"])
    forge(bundle)
    failure = f"event {citing + 1}: the message it quotes as seq {target + 1} differs"
    refused_at_citation(bundle, public_key, failure)


NOTICE_EDITS: dict[str, Callable[[str], str]] = {
    "last paragraph dropped": lambda n: n.rsplit("\n\n", 1)[0],
    "examples dropped": lambda n: re.sub(r"For example:\n(- .*\n)+\n", "", n),
    "a word changed": lambda n: n.replace("policy", "polity", 1),
    "trailing space": lambda n: n + " ",
    "an accented letter, decomposed (NFD)": lambda n: unicodedata.normalize(
        "NFD", n.replace("e", "\u00e9", 1)
    ),
}
NOTICE_CASES = [(kind, edit) for kind in ("warning", "closure") for edit in NOTICE_EDITS]


@pytest.mark.parametrize(("kind", "edit"), NOTICE_CASES, ids=ids(NOTICE_CASES))
def test_a_notice_altered_consistently_is_refused_by_the_citation_check(
    bundles: dict[str, Bundle], public_key: bytes, kind: str, edit: str
) -> None:
    """Rule (invariant 4): the notice a warning or closure records is exactly the one the
    accepted version's template gives for that clause and those messages — it cannot be
    rewritten to say something else (or less) to the visitor, even with every hash, copy
    and the signature recomputed."""
    index = WARNING if kind == "warning" else CLOSING
    bundle = bundles["closed"]
    data = event(bundle, index)["data"]
    before = data["notice"]
    data["notice"] = NOTICE_EDITS[edit](before)
    assert data["notice"] != before
    forge(bundle, notices=False)
    assert bundle["transcript"][index]["data"]["notice"] != before
    failure = f"event {index + 1}: the notice is not the one the policy's template gives"
    refused_at_citation(bundle, public_key, failure)


WARNING_CLAUSE_EDITS: dict[str, tuple[Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "text reworded": (
        lambda c: {**c, "text": c["text"].replace("more than 10", "more than 3")},
        "event 9: clause 4.1 is not quoted word for word",
    ),
    "text cut short": (
        lambda c: {**c, "text": c["text"].split(". ", 1)[0] + "."},
        "event 9: clause 4.1 is not quoted word for word",
    ),
    "title changed": (
        lambda c: {**c, "title": "Shouting"},
        "event 9: clause 4.1 is not quoted word for word",
    ),
    "version 1's wording": (
        lambda c: asdict(POLICY_V1.clause("4.1")),
        "event 9: clause 4.1 is not quoted word for word",
    ),
    "a clause the version does not have": (
        lambda c: {**c, "id": "4.9"},
        "event 9: the accepted version has no such clause",
    ),
}


@pytest.mark.parametrize("edit", WARNING_CLAUSE_EDITS)
def test_a_warning_citing_an_altered_clause_is_refused_by_the_citation_check(
    bundles: dict[str, Bundle], public_key: bytes, edit: str
) -> None:
    """Rule (invariant 4): a warning, like a closure, cites a clause of the version the
    visitor accepted, word for word — not a reworded, shortened or retitled clause, not
    another version's wording, not a clause that version lacks — even with the notice
    re-rendered from the altered clause and every hash, copy and the signature
    recomputed."""
    alter, failure = WARNING_CLAUSE_EDITS[edit]
    bundle = bundles["closed"]
    data = event(bundle, WARNING)["data"]
    data["clause"] = alter(data["clause"])
    assert data["clause"] != asdict(POLICY_V2.clause("4.1"))
    forge(bundle)
    assert data["clause"]["text"] in bundle["transcript"][WARNING]["data"]["notice"]
    refused_at_citation(bundle, public_key, failure)


def test_a_warning_citing_another_version_is_refused_by_the_citation_check(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule (invariant 4): the warning cites the version accepted, not whatever is current."""
    bundle = bundles["closed"]
    event(bundle, WARNING)["data"].update(version=1, sha256=POLICY_V1.sha256)
    forge(bundle)
    refused_at_citation(bundle, public_key, "event 9: it cites a policy version not accepted here")


TEMPLATE_EDITS = [
    (path, how) for path in NOTICE_TEMPLATES for how in ("edited", "removed", "emptied")
]


def edit_template(bundle: Bundle, path: str, how: str) -> None:
    full = f"transcript[0].data.{path}"
    if how == "removed":
        remove(bundle, full)
    elif how == "emptied":
        put(bundle, full, "{clause_id}")
    else:
        put(bundle, full, changed(full, get(bundle, full)))


@pytest.mark.parametrize(("path", "how"), TEMPLATE_EDITS, ids=ids(TEMPLATE_EDITS))
def test_a_notice_template_altered_in_the_accepted_document_is_refused(
    bundles: dict[str, Bundle], public_key: bytes, path: str, how: str
) -> None:
    """Rule (invariant 4): the notices recorded are those the accepted version's templates
    give, so a template of the structured copy in event 1 altered (or removed: the
    built-in default would apply) — the document, every hash, summary and copy
    recomputed and the checkpoint re-signed — no longer gives the recorded notice."""
    bundle = bundles["closed"]
    edit_template(bundle, path, how)
    forge(bundle, notices=False)
    index = WARNING if path.endswith(".warning") else CLOSING
    failure = f"event {index + 1}: the notice is not the one the policy's template gives"
    refused_at_citation(bundle, public_key, failure)


@pytest.mark.parametrize("which", ["closed", "resolved"])
@pytest.mark.parametrize("path", NOTICE_TEMPLATES)
def test_a_notice_template_altered_with_every_notice_rerendered_is_caught_by_the_anchor(
    bundles: dict[str, Bundle], public_key: bytes, path: str, which: str
) -> None:
    """Documented limit: the templates are not part of the accepted text, so its digest
    does not pin them. A forger who rewrites a template AND re-renders every notice from
    it (or edits a template no event used: the resolved conversation's) leaves a bundle
    consistent in every record: only the signed anchor tells — and, re-signed under the
    forger's key, only the operator's key."""
    bundle = bundles[which]
    edit_template(bundle, path, "edited")
    reseal(bundle, leaf=True)
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == UP_TO_THE_ANCHOR
        assert str(report.failure).startswith("the inclusion proof does not lead")
    resign(bundle, Ed25519PrivateKey.generate())
    assert verify(bundle).ok, "self-consistent: without the operator's key it verifies"
    assert str(refused(bundle, public_key).failure).startswith("the checkpoint names key ")


def test_an_event_after_the_closure_is_refused(bundles: dict[str, Bundle]) -> None:
    """Rule: nothing is stored after a conversation ends, so nothing may follow the ending."""
    bundle = bundles["closed"]
    bundle["transcript"].append(forged_message(bundle, "one more thing"))
    reseal(bundle, leaf=True)
    report = refused(resign(bundle, Ed25519PrivateKey.generate()))
    assert report.passed == CHECKS[:2]
    assert report.failure == "event 12 comes after the conversation ended"


def test_an_acceptance_that_is_not_event_1_is_refused(bundles: dict[str, Bundle]) -> None:
    """Rule (invariant 1): a transcript starts with the acceptance."""
    bundle = bundles["closed"]
    t = bundle["transcript"]
    t[0], t[1] = t[1], t[0]
    reseal(bundle, leaf=True)
    report = refused(resign(bundle, Ed25519PrivateKey.generate()))
    assert report.passed == CHECKS[:1]
    assert report.failure == "event 1 is a message, not the acceptance"


def test_an_event_of_another_conversation_is_refused(bundles: dict[str, Bundle]) -> None:
    """Rule: every event belongs to the bundle's conversation."""
    closed, resolved = bundles["closed"], bundles["resolved"]
    closed["transcript"].insert(3, event(resolved, 1))
    reseal(closed, leaf=True)
    report = refused(resign(closed, Ed25519PrivateKey.generate()))
    assert report.passed == []
    assert report.failure == f"event 4 belongs to conversation {resolved['conversation']['id']}"


def test_an_audit_entry_of_another_conversation_is_refused(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule: the bundle's audit entries concern this conversation."""
    closed, resolved = bundles["closed"], bundles["resolved"]
    closed["audit"].append(resolved["audit"][0])
    report = refused(closed, public_key)
    assert (
        report.failure == f"audit entry {resolved['audit'][0]['seq']} concerns another conversation"
    )


DROPPED = {
    # which entries are dropped: (checks passed, failure)
    "first": ([0], 3, "audit entry 4 does not link to the entry before it"),
    "middle (who warned)": ([3], 3, "audit entry 7 does not link to the entry before it"),
    "middle (who closed it)": ([4], 3, "audit entry 12 does not link to the entry before it"),
    "last (the export)": ([5], 3, EXPORTER_DIFFERS),
    "all": ([0, 1, 2, 3, 4, 5], 3, EXPORTER_DIFFERS),
}


@pytest.mark.parametrize("dropped", DROPPED)
def test_an_audit_entry_dropped_from_the_bundle_is_detected(
    bundles: dict[str, Bundle], public_key: bytes, dropped: str
) -> None:
    """Rule: the bundle holds *all* the audit entries of the conversation: each links to
    the one before it about the same conversation, the last export among them is the
    bundle's own (by ``generated_by``), and the anchored leaf names the last."""
    indexes, passed, failure = DROPPED[dropped]
    bundle = bundles["closed"]
    assert [e["seq"] for e in bundle["audit"]] == [3, 4, 5, 6, 7, 12]
    bundle["audit"] = [e for i, e in enumerate(bundle["audit"]) if i not in indexes]
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:passed]
        assert report.failure == failure


def rewrite_audit(bundle: Bundle, index: int) -> dict[str, Any]:
    """Rewrite who performed audit entry ``index`` and recompute its hash."""
    entry: dict[str, Any] = bundle["audit"][index]
    before = dict(entry["actor"])
    entry["actor"] = {"id": "s_someone_else", "name": "Someone Else", "role": "agent"}
    assert entry["actor"] != before, "the rewrite must change the entry"
    entry["hash"] = sha256_hex(body(entry))
    return entry


def test_an_audit_entry_rewritten_with_its_hash_recomputed_breaks_the_thread(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule: an audit entry cannot be rewritten: the next entry about the conversation
    holds its hash (``thread_prev_hash``)."""
    bundle = bundles["closed"]
    rewrite_audit(bundle, 1)
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:3]
        assert report.failure == "audit entry 5 does not link to the entry before it"


FORGER_GOES_AS_FAR_AS = ["thread relinked", "leaf rewritten", "checkpoint re-signed"]


@pytest.mark.parametrize("until", FORGER_GOES_AS_FAR_AS)
@pytest.mark.parametrize(
    "attack", ["entry 1 rewritten", "last entry rewritten", "middle entry dropped"]
)
def test_a_consistent_audit_rewrite_is_caught_by_the_anchor(
    bundles: dict[str, Bundle], public_key: bytes, attack: str, until: str
) -> None:
    """Rule: even with its hash and every later thread link recomputed (and
    ``generated_by`` naming whoever the rewritten export entry names), a rewritten or
    dropped audit entry is refused: the anchored leaf names the last audit entry
    (``audit_head``) — and a leaf rewritten to match is not under the signed root."""
    bundle = bundles["closed"]
    if attack == "middle entry dropped":
        assert bundle["audit"].pop(4)["action"] == "closed"
    else:
        rewrite_audit(bundle, 1 if attack == "entry 1 rewritten" else -1)
    relink_audit(bundle)
    exporter = "Someone Else" if attack == "last entry rewritten" else "operator (command line)"
    assert bundle["generated_by"]["name"] == exporter, "generated_by names the audited exporter"
    if until == "thread relinked":
        for key in (None, public_key):
            report = refused(bundle, key)
            assert report.passed == UP_TO_THE_ANCHOR
            assert report.failure == "the anchored audit head is not the bundle's last audit entry"
        return
    bundle["anchor"]["leaf"]["audit_head"] = bundle["audit"][-1]["hash"]
    if until == "leaf rewritten":
        for key in (None, public_key):
            report = refused(bundle, key)
            assert report.passed == UP_TO_THE_ANCHOR
            assert str(report.failure).startswith("the inclusion proof does not lead")
        return
    resign(bundle, Ed25519PrivateKey.generate())
    assert verify(bundle).ok, "self-consistent: without the operator's key it verifies"
    report = refused(bundle, public_key)
    assert report.passed == CHECKS[:5]
    assert str(report.failure).startswith("the checkpoint names key ")


OTHER_EXPORTERS: dict[str, Callable[[Bundle], dict[str, Any]]] = {
    "the agent": lambda b: copy.deepcopy(b["audit"][0]["actor"]),
    "someone else": lambda b: dict(SOMEONE_ELSE),
    "the operator under another name": lambda b: {**b["generated_by"], "name": "Carl"},
    "the operator in another role": lambda b: {**b["generated_by"], "role": "compliance"},
    "the operator with a field dropped": lambda b: {
        k: v for k, v in b["generated_by"].items() if k != "role"
    },
}
EXPORTER_CASES = [(which, other) for which in EVENTS for other in OTHER_EXPORTERS]


@pytest.mark.parametrize(("which", "other"), EXPORTER_CASES, ids=ids(EXPORTER_CASES))
def test_generated_by_naming_another_actor_is_refused(
    bundles: dict[str, Bundle], public_key: bytes, which: str, other: str
) -> None:
    """Rule: the bundle cannot claim another exporter than the one its audit trail
    records — not an agent of the conversation, not a stranger, not the same id under
    another name or role — though ``generated_by`` is neither hashed nor anchored."""
    bundle = bundles[which]
    exporter = bundle["generated_by"]
    assert bundle["audit"][-1]["action"] == "evidence_exported"
    assert bundle["audit"][-1]["actor"] == exporter
    bundle["generated_by"] = OTHER_EXPORTERS[other](bundle)
    assert bundle["generated_by"] != exporter
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:3]
        assert report.failure == EXPORTER_DIFFERS


def test_an_export_entry_rewritten_without_generated_by_is_refused(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule: rewriting who exported in the audit trail (hash and thread recomputed, the
    leaf rewritten and the checkpoint re-signed) without also rewriting ``generated_by``
    is refused by the audit check, before any key is needed."""
    bundle = bundles["closed"]
    exporter = copy.deepcopy(bundle["generated_by"])
    rewrite_audit(bundle, -1)
    relink_audit(bundle)
    bundle["generated_by"] = exporter
    bundle["anchor"]["leaf"]["audit_head"] = bundle["audit"][-1]["hash"]
    resign(bundle, Ed25519PrivateKey.generate())
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:3]
        assert report.failure == EXPORTER_DIFFERS


def unexport(bundle: Bundle, how: str) -> None:
    """Leave the bundle's audit trail without its "evidence exported" entry."""
    entry = bundle["audit"][-1]
    assert entry["action"] == "evidence_exported"
    if how == "dropped":
        bundle["audit"].pop()
    else:
        entry["action"] = "replied"


NO_EXPORT = [(which, how) for which in EVENTS for how in ("dropped", "relabelled replied")]


@pytest.mark.parametrize(("which", "how"), NO_EXPORT, ids=ids(NO_EXPORT))
def test_a_bundle_without_its_audited_export_is_refused(
    bundles: dict[str, Bundle], public_key: bytes, which: str, how: str
) -> None:
    """Rule: every export is audited, so a bundle whose audit trail records no export is
    refused — even with every thread link and the leaf recomputed and the checkpoint
    re-signed, and without the operator's key."""
    bundle = bundles[which]
    unexport(bundle, how)
    relink_audit(bundle)
    assert all(e["action"] != "evidence_exported" for e in bundle["audit"])
    bundle["anchor"]["leaf"]["audit_head"] = bundle["audit"][-1]["hash"]
    resign(bundle, Ed25519PrivateKey.generate())
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:3]
        assert report.failure == EXPORTER_DIFFERS


def export_again(bundle: Bundle, actor: dict[str, Any]) -> None:
    """Append a second "evidence exported" entry, by ``actor``, after the real one."""
    again = copy.deepcopy(bundle["audit"][-1])
    again.update(seq=again["seq"] + 1, actor=actor, prev_hash=again["hash"])
    bundle["audit"].append(again)


def test_only_the_last_audited_export_names_the_exporter(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule: with several exports in the audit trail, the bundle is the last one's: an
    earlier export by ``generated_by`` does not vouch for a later one by someone else —
    and a bundle naming the later exporter is consistent, so only the anchor tells."""
    bundle = bundles["closed"]
    operator = copy.deepcopy(bundle["generated_by"])
    export_again(bundle, dict(SOMEONE_ELSE))
    relink_audit(bundle)
    assert bundle["generated_by"] == SOMEONE_ELSE
    bundle["anchor"]["leaf"]["audit_head"] = bundle["audit"][-1]["hash"]
    resign(bundle, Ed25519PrivateKey.generate())
    assert verify(bundle).ok, "self-consistent: without the operator's key it verifies"
    assert str(refused(bundle, public_key).failure).startswith("the checkpoint names key ")

    bundle["generated_by"] = operator
    assert [e["actor"] == operator for e in bundle["audit"]][-2:] == [True, False]
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:3]
        assert report.failure == EXPORTER_DIFFERS


# --------------------------------------------------------------------------------------
# 5. Signature attacks.
# --------------------------------------------------------------------------------------


def test_a_random_signature_is_refused(bundles: dict[str, Bundle], public_key: bytes) -> None:
    """Rule: the checkpoint is signed by the operator's key."""
    bundle = bundles["closed"]
    bundle["anchor"]["signature"] = base64.b64encode(os.urandom(64)).decode()
    for key in (None, public_key):
        report = refused(bundle, key)
        assert report.passed == CHECKS[:5]
        assert report.failure == "the checkpoint signature is not valid for this key"


def test_a_self_consistent_forgery_needs_the_operators_key_to_be_caught(
    bundles: dict[str, Bundle], public_key: bytes, tmp_path: Path, evidence: Any
) -> None:
    """Rule: a forger can rewrite everything and sign with their own key; only the
    operator's published key tells — so without it the report says it was self-signed."""
    bundle = bundles["closed"]
    event(bundle, THREAT)["data"]["text"] = "Could you please hurry up?"
    reseal(bundle, leaf=True)
    resign(bundle, Ed25519PrivateKey.generate())

    alone = verify(bundle)
    assert alone.ok and alone.self_signed, "documented: without a key the bundle's own key is used"
    bound = refused(bundle, public_key)
    assert bound.passed == CHECKS[:5]
    assert str(bound.failure).startswith("the checkpoint names key ")

    path = tmp_path / "forged.json"
    path.write_text(json.dumps(bundle))
    cli = parley("evidence", "verify", str(path))
    assert cli.returncode == 0 and "note: the signature was checked against the key inside" in (
        cli.stdout
    )
    cli = parley("evidence", "verify", str(path), "--public-key", evidence.public_key_b64)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert cli.stdout.splitlines()[-1].startswith("FAIL  the checkpoint names key ")


def test_a_forged_signature_under_the_real_key_id_is_refused(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule: naming the operator's key id does not make a forger's signature the operator's."""
    bundle = bundles["closed"]
    real_key_id = bundle["anchor"]["checkpoint"]["key_id"]
    forger = Ed25519PrivateKey.generate()
    checkpoint = bundle["anchor"]["checkpoint"]
    signed = json.dumps(checkpoint, sort_keys=True, separators=(",", ":")).encode()
    bundle["anchor"]["signature"] = base64.b64encode(forger.sign(signed)).decode()
    assert checkpoint["key_id"] == real_key_id
    for key in (None, public_key):
        assert refused(bundle, key).failure == "the checkpoint signature is not valid for this key"


def test_a_wrong_public_key_on_the_cli_exits_1(evidence: Any) -> None:
    """Rule: a bundle is only VALID for the operator whose key signed it."""
    other = base64.b64encode(raw_public(Ed25519PrivateKey.generate())).decode()
    cli = parley("evidence", "verify", str(evidence.closed_path), "--public-key", other)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert cli.stdout.splitlines()[-1].startswith("FAIL  the checkpoint names key ")


@pytest.mark.parametrize("field", ["tree_size", "root_hash"])
def test_a_changed_tree_size_or_root_is_refused(
    bundles: dict[str, Bundle], public_key: bytes, field: str
) -> None:
    """Rule: the signed head (size and root) cannot be altered."""
    bundle = bundles["resolved"]
    checkpoint = bundle["anchor"]["checkpoint"]
    checkpoint[field] = changed(field, checkpoint[field])
    for key in (None, public_key):
        refused(bundle, key)


def test_a_checkpoint_resigned_for_a_different_tree_size_is_refused(
    bundles: dict[str, Bundle], public_key: bytes
) -> None:
    """Rule: only the operator can sign a head; a head re-signed by anyone else is refused."""
    bundle = bundles["resolved"]
    resign(bundle, Ed25519PrivateKey.generate())
    assert verify(bundle).ok
    assert refused(bundle, public_key).passed == CHECKS[:5]


# --------------------------------------------------------------------------------------
# 6. The CLI.
# --------------------------------------------------------------------------------------


def write(tmp_path: Path, bundle: Bundle) -> str:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle, indent=2), encoding="utf-8")
    return str(path)


def test_the_cli_names_the_first_altered_event(
    bundles: dict[str, Bundle], tmp_path: Path, evidence: Any
) -> None:
    """Rule: the verifier says which record failed, and exits 1."""
    bundle = bundles["closed"]
    event(bundle, 2)["data"]["text"] += "!"
    event(bundle, REPLY)["data"]["text"] += "!"
    cli = parley(
        "evidence", "verify", write(tmp_path, bundle), "--public-key", evidence.public_key_b64
    )
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert cli.stdout.splitlines() == [
        "FAIL  event 3 was altered: its content does not match its hash"
    ]


def test_the_cli_names_the_failing_check_after_those_that_passed(
    bundles: dict[str, Bundle], tmp_path: Path
) -> None:
    """Rule: the CLI lists the checks that held, then the one that failed, and exits 1."""
    bundle = bundles["closed"]
    bundle["audit"][1]["details"]["seq"] = 99
    cli = parley("evidence", "verify", write(tmp_path, bundle))
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert cli.stdout.splitlines() == [
        *(f"ok    {c}" for c in CHECKS[:3]),
        f"FAIL  audit entry {bundle['audit'][1]['seq']} was altered: it does not match its hash",
    ]


def test_the_cli_exits_1_for_a_json_object_that_is_not_a_bundle(tmp_path: Path) -> None:
    """Rule: a readable JSON object that is not a parley-evidence/1 bundle is INVALID."""
    path = tmp_path / "other.json"
    path.write_text('{"format": "something-else"}')
    cli = parley("evidence", "verify", str(path))
    assert cli.returncode == 1
    assert cli.stdout.startswith("FAIL  not a parley-evidence/1 bundle")


UNREADABLE = {
    "not JSON": ("{this is not json", None),
    "a JSON array": ("[1, 2, 3]", None),
    "a missing file": (None, None),
    "a key that is not base64": ("BUNDLE", "not base64 at all!"),
    "a key of the wrong length": ("BUNDLE", base64.b64encode(b"\x01" * 31).decode()),
    "a PEM that is not a key": (
        "BUNDLE",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
    ),
}


@pytest.mark.parametrize("case", UNREADABLE)
def test_the_cli_exits_2_when_it_cannot_read_its_input(
    evidence: Any, tmp_path: Path, case: str
) -> None:
    """Rule: unreadable input is exit 2, never VALID and never a crash."""
    content, key = UNREADABLE[case]
    path = tmp_path / "input.json"
    if content == "BUNDLE":
        shutil.copy(evidence.closed_path, path)
    elif content is not None:
        path.write_text(content)
    args = ["evidence", "verify", str(path)] + (["--public-key", key] if key else [])
    cli = parley(*args)
    assert cli.returncode == 2, cli.stdout + cli.stderr
    assert cli.stderr.startswith("parley: "), cli.stderr
    assert "Traceback" not in cli.stderr
    assert "VALID" not in cli.stdout


# --------------------------------------------------------------------------------------
# 7. parley audit verify on the store itself.
# --------------------------------------------------------------------------------------


def test_audit_verify_detects_an_edited_row_in_the_store(evidence: Any, tmp_path: Path) -> None:
    """Rule: the audit trail is a hash chain; editing a stored row is detected and named."""
    copy_dir = tmp_path / "data"
    shutil.copytree(evidence.server.data_dir, copy_dir)
    args = ("audit", "verify", "--data-dir", str(copy_dir), "--policies", str(POLICIES))
    before = parley(*args)
    assert before.returncode == 0, before.stdout + before.stderr
    assert before.stdout.startswith("VALID: ")

    with sqlite3.connect(copy_dir / "parley.db") as db:
        (last,) = db.execute("SELECT max(seq) FROM audit").fetchone()
        db.execute(
            "UPDATE audit SET body = json_set(body, '$.details.seq', 99) "
            "WHERE seq = (SELECT max(seq) FROM audit)"
        )
    db.close()
    after = parley(*args)
    assert after.returncode == 1, after.stdout + after.stderr
    assert after.stdout.splitlines() == [
        f"FAIL  audit entry {last} was altered: its content does not match its hash"
    ]


def test_a_bundle_of_an_acceptance_recorded_before_translations_still_verifies(
    bundles: dict[str, Bundle],
) -> None:
    """Rule: an acceptance without language fields (recorded before translations, English)
    and its bundle without a governing text verify as before; a governing text added to such
    a bundle is refused."""
    bundle = bundles["closed"]
    accepted = event(bundle, 0)["data"]
    for name in ("language", "governing_language", "governing_sha256"):
        del accepted[name]
    del bundle["governing"]
    del bundle["conversation"]["policy"]["language"]
    reseal(bundle, leaf=True)
    resign(bundle, Ed25519PrivateKey.generate())
    report = verify(bundle)
    assert (report.ok, report.passed) == (True, CHECKS), report.failure
    exported_since = copy.deepcopy(bundle)
    exported_since["conversation"]["policy"]["language"] = "en"
    assert verify(exported_since).ok, "a summary exported since names English"
    exported_since["conversation"]["policy"]["language"] = "de"
    assert verify(exported_since).failure == (
        "the conversation summary disagrees with the events in: policy"
    )
    bundle["governing"] = {"language": "en", "sha256": accepted["sha256"],
                           "text": accepted["text"]}  # fmt: skip
    assert verify(bundle).failure == "the bundle carries a governing text, but event 1 names none"


def test_a_governing_text_swapped_with_its_digest_is_caught(bundles: dict[str, Bundle]) -> None:
    """Rule: the bundle's governing text must be the one event 1 names, digest and all."""
    bundle = bundles["closed"]
    forged = "Be nice.\n"
    bundle["governing"].update(text=forged, sha256=hashlib.sha256(forged.encode()).hexdigest())
    report = refused(bundle)
    assert report.passed == CHECKS[:1]
    assert str(report.failure).startswith("the governing text (en) does not hash to event 1's")
    del bundle["governing"]
    assert refused(bundle).failure == "the bundle lacks the governing text event 1 names"


@pytest.mark.parametrize(
    ("kind", "edit", "failure"),
    [
        ("warning", ("clause", "text"), "the governing clause 4.1 is not quoted word for word"),
        ("closure", ("clause", "title"), "the governing clause 1.2 is not quoted word for word"),
        ("closure", ("sha256",), "its governing clause is not from the governing text accepted"),
        ("closure", None, "it cites a translation without the governing clause"),
    ],
)
def test_a_citation_of_a_translation_must_quote_the_governing_clause_exactly(
    kind: str, edit: tuple[str, ...] | None, failure: str
) -> None:
    """Rule (issue 16): beside the clause as the visitor read it, a warning or closure of a
    translated conversation quotes the governing text's clause; the verifier checks that quote
    against the bundle's governing text, even when every hash was recomputed after the edit."""
    from test_html import make_bundle

    from translated import with_german

    v2 = next(v for v in policy_files.load_folder(POLICIES) if v.version == 2)
    governing = with_german(v2)
    bundle = make_bundle(governing.for_language("de"), governing=governing)
    assert verify(bundle).ok
    cited = next(
        e for e in bundle["transcript"] if e["type"] == ("closed" if kind == "closure" else kind)
    )
    if edit is None:
        del cited["data"]["governing"]
    elif edit == ("sha256",):
        cited["data"]["governing"]["sha256"] = "0" * 64
    else:
        cited["data"]["governing"][edit[0]][edit[1]] += " (edited)"
    report = verify(reseal(bundle, quotes=False))  # the quotes and notices are untouched
    seq = cited["seq"]
    assert report.failure == f"event {seq}: {failure}", report
