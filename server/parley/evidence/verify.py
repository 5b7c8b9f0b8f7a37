"""Offline verification of an evidence bundle: no server, no database, only the bundle and a key.

:func:`verify` runs every check in order and stops at the first that fails,
saying which record failed and why. The checks, each closing a way to alter
the record:

1. every transcript event has exactly the recorded fields, hashes to its
   ``hash`` and links to the one before (edits, deletions, insertions,
   reordering, smuggled fields); in format 2 each personal field is salted or
   erased, and each value hashes with its salt to the commitment its event's
   hash covers (an edited value or salt); the conversation summary agrees;
2. the acceptance is event 1; its text is exactly the canonical text of the
   structured policy it carries and hashes to its recorded digest; the
   bundle's acceptance record is a faithful copy of it (a swapped policy text);
   for an acceptance that records a governing text (since translations), the
   bundle's governing text is in the governing language event 1 names and
   hashes to its ``governing_sha256`` (a swapped or edited governing text);
3. every warning and closure cites, word for word, a clause of the version
   the visitor accepted, quotes the visitor's messages exactly as the
   transcript holds them, and carries the notice that version's template
   gives (where quotes, notice or quoted message were erased, what remains);
   a citation of a translation also quotes the governing text's clause, word
   for word as the bundle's governing text has it;
   the bundle's closure record is a faithful copy of the closing event, and
   nothing but erasure records follows it, each naming only fields erased in
   events before it;
4. the audit entries about this conversation each match their hash and link
   to one another, and the last export they record is by the bundle's
   ``generated_by`` (the agents listed are checked against the events in 1);
5. the anchored leaf commits to the transcript's last event and the last
   audit entry, and its RFC 9162 inclusion proof leads to the checkpoint's
   root (a rewritten record, even with every hash recomputed; a dropped audit
   entry);
6. the checkpoint's Ed25519 signature verifies under the operator's public key
   (a forged checkpoint);
7. the same checkpoint as a C2SP signed note (``anchor.note``, in bundles made
   since checkpoints are notes) states the same origin, size and root, and its
   note signature verifies under the same key;
8. given witness keys, enough of those witnesses cosigned that note (a log
   the operator rebuilt and re-signed after a rewrite: no witness cosigns a
   tree inconsistent with one it cosigned before);
9. the RFC 3161 time stamp (``anchor.timestamp``, when the server has a TSA)
   stamps that note's text; given the TSA's certificate, its signature holds
   (a root backdated or swapped after the time the TSA vouches for).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parley.domain import merkle, note
from parley.domain.anchor import Checkpoint, Leaf, key_id, note_body, signature_valid
from parley.domain.audit import AuditAction, AuditEntry
from parley.domain.chain import GENESIS, verify_links
from parley.domain.conversation import Conversation
from parley.domain.erasure import Erased, commitment_problem, erased_fields, record_problem
from parley.domain.moderation import notice_for
from parley.domain.policy import DEFAULT_LANGUAGE, Clause, PolicyVersion, from_document
from parley.domain.transcript import ENDINGS, Event, EventType
from parley.errors import PolicyInvalid, TimestampInvalid, UnknownClause
from parley.evidence import timestamp

FORMAT = "parley-evidence/1"
SECTIONS = {
    "format", "generated_at", "generated_by", "conversation", "acceptance", "transcript",
    "closure", "agents", "audit", "anchor", "how_to_verify",
}  # fmt: skip
#: Sections a bundle may have or not: ``holds`` (the legal holds in force at export, a
#: record of status outside the chain) is absent from bundles exported before holds, and
#: ``governing`` (the text that governs the accepted one) from those of acceptances
#: recorded before translations.
OPTIONAL_SECTIONS = {"holds", "governing"}
SUMMARY_FIELDS = set(Conversation.__dataclass_fields__)
#: Bundles exported before conversations had an assignee have a summary without one.
SUMMARY_FIELDS_BEFORE_ASSIGNMENT = SUMMARY_FIELDS - {"assignee"}
MALFORMED = (KeyError, TypeError, ValueError, AttributeError, IndexError, PolicyInvalid)
# note.NoteMalformed is a ValueError: a garbled note is a malformed bundle.


class Failed(Exception):
    """A check failed; the message says which record and why."""


@dataclass(frozen=True)
class Report:
    ok: bool
    passed: list[str]
    failure: str | None
    #: True when the signature was checked against the key inside the bundle itself.
    self_signed: bool
    #: The personal fields erased from the transcript (when it was read): which, when, by whom, why.
    erased: tuple[Erased, ...] = ()


def verify(
    bundle: Mapping[str, Any],
    public_key: bytes | None = None,
    witnesses: Sequence[note.VerifierKey] = (),
    quorum: int | None = None,
    tsa_certs: Sequence[bytes] = (),
) -> Report:
    """Check ``bundle``; with ``public_key`` (raw 32 bytes) the signature must be by that key.

    With ``witnesses`` (cosignature/v1 verifier keys), at least ``quorum`` of them
    (default: all) must have cosigned the bundle's checkpoint. With ``tsa_certs``, the
    bundle must carry a time stamp whose signature holds under them.
    """
    passed: list[str] = []
    checks: list[tuple[str, Callable[[], None]]] = [
        ("transcript hash chain", lambda: _chain(bundle)),
        ("acceptance record", lambda: _acceptance(bundle)),
        ("closure citation", lambda: _closure(bundle)),
        ("audit entries", lambda: _audit(bundle)),
        ("inclusion proof", lambda: _inclusion(bundle)),
        ("checkpoint signature", lambda: _signature(bundle, public_key)),
    ]
    if witnesses or _has(bundle, "note"):
        checks.append(("checkpoint note", lambda: _note(bundle, public_key)))
    if witnesses:
        needed = len(witnesses) if quorum is None else quorum
        checks.append(
            (f"witness cosignatures ({needed} of {len(witnesses)} required)",
             lambda: _cosignatures(bundle, witnesses, needed))
        )  # fmt: skip
    if tsa_certs or _has(bundle, "timestamp"):
        label = "time stamp" if tsa_certs else "time stamp imprint (TSA signature not checked)"
        checks.append((label, lambda: _timestamp(bundle, tsa_certs)))
    try:
        if bundle.get("format") != FORMAT:
            raise Failed(f"not a {FORMAT} bundle (format is {bundle.get('format')!r})")
        if not SECTIONS <= set(bundle) <= SECTIONS | OPTIONAL_SECTIONS:
            raise Failed(f"the bundle's sections are not {', '.join(sorted(SECTIONS))}")
        for name, check in checks:
            check()
            passed.append(name)
    except Failed as e:
        return Report(False, passed, str(e), public_key is None, _erased(bundle, passed))
    except MALFORMED as e:
        failure = f"{checks[len(passed)][0]}: the bundle is malformed ({type(e).__name__}: {e})"
        return Report(False, passed, failure, public_key is None, _erased(bundle, passed))
    return Report(True, passed, None, public_key is None, _erased(bundle, passed))


def _erased(bundle: Mapping[str, Any], passed: list[str]) -> tuple[Erased, ...]:
    """The erased fields, once the transcript they are read from has been checked."""
    if not passed:
        return ()
    return tuple(f for e in _events(bundle) for f in erased_fields(e))


def _events(bundle: Mapping[str, Any]) -> list[Event]:
    events = [Event.from_dict(e) for e in bundle["transcript"]]
    for raw, event in zip(bundle["transcript"], events, strict=True):
        if event.to_dict() != raw:
            raise Failed(f"event {event.seq} has fields outside the hashed record")
        if event.format not in (1, 2):
            raise Failed(f"event {event.seq} is in format {event.format!r}, not 1 or 2")
        problem = commitment_problem(event) if event.format == 2 else None
        if problem:
            raise Failed(problem)
    if not events:
        raise Failed("the transcript is empty")
    return events


def _ending(events: list[Event]) -> Event | None:
    return next((e for e in events if e.type in ENDINGS), None)


def _accepted(events: list[Event]) -> PolicyVersion:
    """The version the visitor accepted, rebuilt from the structured copy in event 1."""
    return from_document(events[0].data["document"], "event 1")


_ABSENT = object()


def _differing(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> str:
    """The keys whose values differ; a missing key differs even from ``None``."""
    keys = {*actual, *expected}
    return ", ".join(sorted(k for k in keys if actual.get(k, _ABSENT) != expected.get(k, _ABSENT)))


def _chain(bundle: Mapping[str, Any]) -> None:
    events = _events(bundle)
    summary = bundle["conversation"]
    for e in events:
        if e.conversation_id != summary["id"]:
            raise Failed(f"event {e.seq} belongs to conversation {e.conversation_id}")
    problem = verify_links(events, "event")
    if problem:
        raise Failed(problem)
    first, ending = events[0], _ending(events)
    assigned = [e for e in events if e.type is EventType.ASSIGNED]
    expected = {
        "last_seq": events[-1].seq,
        "head_hash": events[-1].hash,
        "visitor_id": first.author.id,
        "started_at": first.at,
        "policy": _policy_summary(first, summary),
        "state": ending.type.value if ending else "open",
        "ended_at": ending.at if ending else None,
        "closed_clause": (
            ending.data["clause"]["id"] if ending and ending.type is EventType.CLOSED else None
        ),
    }
    if "assignee" in summary:  # absent from bundles exported before assignment existed
        expected["assignee"] = assigned[-1].data["agent"] if assigned else None
    differing = _differing({k: summary[k] for k in expected if k in summary}, expected)
    if differing:
        raise Failed(f"the conversation summary disagrees with the events in: {differing}")
    if set(summary) not in (SUMMARY_FIELDS, SUMMARY_FIELDS_BEFORE_ASSIGNMENT):
        raise Failed("the conversation summary has fields other than a conversation's")
    authors = {e.author.id: e.author.name for e in events if e.author.role.value == "agent"}
    listed = {a["id"]: a["name"] for a in bundle["agents"]}
    if listed != authors or len(bundle["agents"]) != len(listed):
        raise Failed("the list of agents involved differs from the agents in the transcript")


def _policy_summary(first: Event, summary: Mapping[str, Any]) -> dict[str, Any]:
    """The ``policy`` of the conversation summary event 1 implies: its language too, unless
    both were recorded before translations (an acceptance recorded before them was in
    English, as a summary exported since says)."""
    policy = {k: first.data.get(k) for k in ("policy_id", "version", "sha256")}
    if "language" in first.data or "language" in summary["policy"]:
        policy["language"] = first.data.get("language", DEFAULT_LANGUAGE)
    return policy


def _governing(bundle: Mapping[str, Any], first: Event, version: PolicyVersion) -> None:
    """The bundle's governing text is the one event 1 names (acceptances recorded before
    translations name none, and their bundles carry none)."""
    data = first.data
    if "governing_sha256" not in data:
        if "governing" in bundle:
            raise Failed("the bundle carries a governing text, but event 1 names none")
        return
    if (data["language"], data["governing_language"]) != (
        version.language,
        version.governing_language,
    ):
        raise Failed("event 1: its languages are not those of the policy it carries")
    if (
        data["language"] == data["governing_language"]
        and data["governing_sha256"] != data["sha256"]
    ):
        raise Failed(
            "event 1: accepted in the governing language, yet names another governing text"
        )
    governing = bundle.get("governing")
    if governing is None:
        raise Failed("the bundle lacks the governing text event 1 names")
    if governing["language"] != data["governing_language"]:
        raise Failed(
            f"the governing text is in {governing['language']!r}, but event 1 says the "
            f"{data['governing_language']!r} text governs"
        )
    digest = hashlib.sha256(governing["text"].encode("utf-8")).hexdigest()
    if digest != data["governing_sha256"] or governing["sha256"] != data["governing_sha256"]:
        raise Failed(
            f"the governing text ({governing['language']}) does not hash to event 1's "
            f"governing_sha256 {data['governing_sha256']}"
        )


def _acceptance(bundle: Mapping[str, Any]) -> None:
    events = _events(bundle)
    first = events[0]
    if first.type is not EventType.ACCEPTANCE:
        raise Failed(f"event 1 is a {first.type.value}, not the acceptance")
    data = first.data
    if hashlib.sha256(data["text"].encode("utf-8")).hexdigest() != data["sha256"]:
        raise Failed("event 1: the accepted text does not hash to its recorded sha256")
    version = _accepted(events)
    if version.text != data["text"]:
        raise Failed("event 1: the accepted text is not the text of the policy it carries")
    named = (data["policy_id"], data["version"], data["title"], data["visitor_id"])
    if named != (version.policy_id, version.version, version.title, first.author.id):
        raise Failed("event 1: the policy or visitor it names is not the one accepted")
    expected = {"conversation_id": first.conversation_id, "accepted_at": first.at,
                "event_hash": first.hash, **data}  # fmt: skip
    differing = _differing(bundle["acceptance"], expected)
    if differing:
        raise Failed(f"the acceptance record differs from event 1 in: {differing}")
    _governing(bundle, first, version)


def _closure(bundle: Mapping[str, Any]) -> None:
    events = _events(bundle)
    ending = _ending(events)
    if (ending.to_dict() if ending else None) != bundle["closure"]:
        raise Failed("the closure record differs from the closing event of the transcript")
    after = [e for e in events if ending and e.seq > ending.seq and e.type is not EventType.ERASED]
    if after:
        raise Failed(f"event {after[0].seq} comes after the conversation ended")
    problem = record_problem(events)
    if problem:
        raise Failed(problem)
    version = _accepted(events)
    by_seq = {e.seq: e for e in events}
    for e in events:
        if e.type in (EventType.WARNING, EventType.CLOSED):
            _citation(e, events[0], version, by_seq)
            _governing_citation(e, events[0], bundle.get("governing"))


def _citation(
    e: Event, acceptance: Event, version: PolicyVersion, by_seq: Mapping[int, Event]
) -> None:
    """A warning or closure cites the accepted version exactly and quotes exactly."""
    accepted, cited = acceptance.data, e.data
    if (cited["policy_id"], cited["version"], cited["sha256"]) != (
        accepted["policy_id"],
        accepted["version"],
        accepted["sha256"],
    ):
        raise Failed(f"event {e.seq}: it cites a policy version not accepted here")
    try:
        clause = version.clause(cited["clause"]["id"])
    except UnknownClause:
        raise Failed(f"event {e.seq}: the accepted version has no such clause") from None
    if Clause(**cited["clause"]) != clause:
        raise Failed(f"event {e.seq}: clause {clause.id} is not quoted word for word")
    if "messages" in e.erased:
        return  # the quotes are gone, and with them what the notice was filled from
    for quoted in cited["messages"]:
        source = by_seq.get(quoted["seq"])
        if (
            source is None
            or source.seq >= e.seq
            or source.type is not EventType.MESSAGE
            or source.author.role.value != "visitor"
            or ("text" not in source.erased and source.data["text"] != quoted["text"])
        ):
            raise Failed(f"event {e.seq}: the message it quotes as seq {quoted['seq']} differs")
    kind = "closure" if e.type is EventType.CLOSED else "warning"
    notice = notice_for(version, kind, clause, cited["messages"], e.conversation_id)
    if "notice" not in e.erased and cited["notice"] != notice:
        raise Failed(f"event {e.seq}: the notice is not the one the policy's template gives")


def _governing_citation(e: Event, acceptance: Event, governing: Any) -> None:
    """A citation of a translation quotes the governing text's clause word for word beside it."""
    accepted, cited = acceptance.data, e.data
    translated = accepted.get("language", accepted.get("governing_language")) != accepted.get(
        "governing_language"
    )
    if not translated:
        if "governing" in cited:
            raise Failed(f"event {e.seq}: it quotes a governing text, but none was accepted apart")
        return
    quoted = cited.get("governing")
    if not isinstance(quoted, dict):
        raise Failed(f"event {e.seq}: it cites a translation without the governing clause")
    if (quoted.get("language"), quoted.get("sha256")) != (
        accepted["governing_language"],
        accepted["governing_sha256"],
    ):
        raise Failed(f"event {e.seq}: its governing clause is not from the governing text accepted")
    clause = quoted.get("clause") or {}
    block = f"\n\n{clause.get('id')} {clause.get('title')}\n{clause.get('text')}\n"
    if clause.get("id") != cited["clause"]["id"] or block not in governing["text"]:
        raise Failed(
            f"event {e.seq}: the governing clause {clause.get('id')} is not quoted word for word"
        )


def _audit(bundle: Mapping[str, Any]) -> None:
    conversation_id = bundle["conversation"]["id"]
    previous = GENESIS
    for raw in bundle["audit"]:
        entry = AuditEntry.from_dict(raw)
        if entry.to_dict() != raw:
            raise Failed(f"audit entry {entry.seq} has fields outside the hashed record")
        if entry.computed_hash() != entry.hash:
            raise Failed(f"audit entry {entry.seq} was altered: it does not match its hash")
        if entry.conversation_id != conversation_id:
            raise Failed(f"audit entry {entry.seq} concerns another conversation")
        if entry.thread_prev_hash != previous:
            raise Failed(f"audit entry {entry.seq} does not link to the entry before it")
        previous = entry.hash
    exports = [e for e in bundle["audit"] if e["action"] == AuditAction.EVIDENCE_EXPORTED]
    if not exports or exports[-1]["actor"] != bundle["generated_by"]:
        raise Failed("the bundle's exporter is not the actor of its audited export")
    if exports[-1]["at"] != bundle["generated_at"]:
        raise Failed("the bundle's generation time is not the time of its audited export")


def _inclusion(bundle: Mapping[str, Any]) -> None:
    anchor = bundle["anchor"]
    leaf = Leaf(**anchor["leaf"])
    last = _events(bundle)[-1]
    if (leaf.conversation_id, leaf.seq, leaf.head_hash) != (*_id(last), last.hash):
        raise Failed(f"the anchored head is not event {last.seq}, the transcript's last")
    audit = bundle["audit"]
    if leaf.audit_head != (audit[-1]["hash"] if audit else None):
        raise Failed("the anchored audit head is not the bundle's last audit entry")
    checkpoint = Checkpoint(**anchor["checkpoint"])
    proof = [bytes.fromhex(h) for h in anchor["inclusion_proof"]]
    root = bytes.fromhex(checkpoint.root_hash)
    index = anchor["leaf_index"]
    if not merkle.verify_inclusion(index, checkpoint.tree_size, leaf.hash(), proof, root):
        raise Failed("the inclusion proof does not lead from the anchored head to the signed root")


def _id(event: Event) -> tuple[str, int]:
    return event.conversation_id, event.seq


def _signature(bundle: Mapping[str, Any], public_key: bytes | None) -> None:
    anchor = bundle["anchor"]
    key = _key(bundle, public_key)
    checkpoint = Checkpoint(**anchor["checkpoint"])
    if checkpoint.key_id != key_id(key):
        raise Failed(f"the checkpoint names key {checkpoint.key_id}, not this key ({key_id(key)})")
    if not signature_valid(key, checkpoint, anchor["signature"]):
        raise Failed("the checkpoint signature is not valid for this key")


def _key(bundle: Mapping[str, Any], public_key: bytes | None) -> bytes:
    if public_key is not None:
        return public_key
    return base64.b64decode(bundle["anchor"]["public_key"])


def _has(bundle: Mapping[str, Any], field: str) -> bool:
    anchor = bundle.get("anchor")
    return isinstance(anchor, Mapping) and anchor.get(field) is not None


def stamped_at(bundle: Mapping[str, Any]) -> str:
    """When the bundle's time stamp says its checkpoint existed (after :func:`verify` passed)."""
    token = base64.b64decode(bundle["anchor"]["timestamp"], validate=True)
    text = note.parse(bundle["anchor"]["note"]).text.encode()
    return timestamp.stamped_time(token, text).strftime("%Y-%m-%dT%H:%M:%SZ")


def _timestamp(bundle: Mapping[str, Any], tsa_certs: Sequence[bytes]) -> None:
    anchor = bundle["anchor"]
    if anchor.get("timestamp") is None:
        raise Failed("the bundle carries no time stamp of its checkpoint")
    if anchor.get("note") is None:
        raise Failed("the bundle's time stamp has no checkpoint note to stamp")
    token = base64.b64decode(anchor["timestamp"], validate=True)
    text = note.parse(anchor["note"]).text.encode()
    try:
        if tsa_certs:
            timestamp.verify(token, text, list(tsa_certs))
        else:
            timestamp.stamped_time(token, text)
    except TimestampInvalid as e:
        raise Failed(f"the time stamp: {e}") from None


def _note(bundle: Mapping[str, Any], public_key: bytes | None) -> None:
    anchor = bundle["anchor"]
    if anchor.get("note") is None:
        raise Failed("the bundle carries no checkpoint note, so no witness cosignatures")
    signed = note.parse(anchor["note"])
    checkpoint = Checkpoint(**anchor["checkpoint"])
    stated, expected = note.CheckpointBody.parse(signed.text), note_body(checkpoint)
    for field in ("origin", "size", "root"):
        if getattr(stated, field) != getattr(expected, field):
            raise Failed(
                f"the checkpoint note's {field} ({_shown(getattr(stated, field))}) is not the "
                f"signed checkpoint's ({_shown(getattr(expected, field))})"
            )
    log_key = note.VerifierKey(checkpoint.origin, note.ED25519, _key(bundle, public_key))
    try:
        note.verify(signed, [log_key])
    except note.NoteUnverified as e:
        raise Failed(f"the checkpoint note: {e}") from None


def _cosignatures(
    bundle: Mapping[str, Any], witnesses: Sequence[note.VerifierKey], needed: int
) -> None:
    signed = note.parse(bundle["anchor"]["note"])
    size = note.CheckpointBody.parse(signed.text).size
    cosigned, missing = [], []
    for witness in witnesses:
        try:
            note.verify(signed, [witness])
        except note.NoteUnverified as e:
            if "no signature by" not in str(e):
                raise Failed(f"checkpoint {size}: {e}") from None
            missing.append(witness.name)
        else:
            cosigned.append(witness.name)
    if len(cosigned) < needed:
        raise Failed(
            f"checkpoint {size} is cosigned by {len(cosigned)} of the {needed} witnesses "
            f"required ({', '.join(cosigned) or 'none'}); no cosignature by {', '.join(missing)}"
        )


def _shown(value: object) -> str:
    return base64.b64encode(value).decode() if isinstance(value, bytes) else repr(value)
