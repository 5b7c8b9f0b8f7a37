"""Erasing personal fields of transcript events without breaking their hashes.

A format-2 event hashes each personal field's salted commitment, not its value
(see :mod:`parley.domain.transcript`). Erasing a field drops its value (``None``
in ``data``) and its salt, and keeps its commitment with who erased it, when and
under which basis: the event still hashes to its ``hash``. That record of the
erasure is not itself covered by the hash; the commitment is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from parley.domain.audit import Actor, AuditAction
from parley.domain.conversation import Conversation, Transition, append_event, audited
from parley.domain.transcript import PERSONAL, SALT_BYTES, SYSTEM, Event, EventType, format_time
from parley.errors import InvalidErasureBasis

_HEX64 = re.compile(r"[0-9a-f]{64}")
_SALT = re.compile(rf"(?:[0-9a-f]{{2}}){{{SALT_BYTES},}}")
#: The fields of an erasure record.
RECORD = frozenset({"commitment", "at", "by", "basis"})
#: The longest basis of an erasure, in characters.
MAX_BASIS_CHARS = 500


@dataclass(frozen=True)
class Erased:
    """One erased field of one event: what the verifier reports."""

    seq: int
    field: str
    at: str
    by: str
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "field": self.field, "at": self.at, "by": self.by,
                "basis": self.basis}  # fmt: skip


def erase(event: Event, fields: Iterable[str], *, at: datetime, by: str, basis: str) -> Event:
    """``event`` with ``fields`` erased by ``by`` at ``at`` under ``basis``; same hash.

    Fields already erased stay as they were. Raises ``ValueError`` (a caller's mistake) for a
    format-1 event, or a field that is not a personal field present in it.
    """
    names = set(fields)
    if event.format == 1:
        raise ValueError(f"event {event.seq} is in format 1, which has no commitments")
    allowed = {*event.salts, *event.erased}
    unknown = names - allowed
    if unknown:
        raise ValueError(
            f"event {event.seq} ({event.type.value}) has no personal field "
            f"{', '.join(sorted(unknown))}; its personal fields are {', '.join(sorted(allowed))}"
        )
    todo = names - set(event.erased)
    commitments = event.commitments()
    when = format_time(at)
    records = {
        k: {"commitment": commitments[k], "at": when, "by": by, "basis": basis} for k in todo
    }
    return replace(
        event,
        data={k: (None if k in todo else v) for k, v in event.data.items()},
        salts={k: v for k, v in event.salts.items() if k not in todo},
        erased={**event.erased, **records},
    )


def erased_fields(event: Event) -> list[Erased]:
    """The fields of ``event`` that were erased, in order of name."""
    return [
        Erased(event.seq, name, r["at"], r["by"], r["basis"])
        for name, r in sorted(event.erased.items())
    ]


def commitment_problem(event: Event) -> str | None:
    """``None`` if a format-2 event's salts and erasures are well formed, else what is wrong.

    Every personal field present in ``data`` is either salted (a salt of at least
    16 bytes in lowercase hex) or erased (value ``None``, a 64-hex commitment and
    ``at``, ``by``, ``basis`` strings), never both; nothing else is.
    """
    n = f"event {event.seq}"
    personal = PERSONAL.get(event.type, frozenset()) & set(event.data)
    salted, erased = set(event.salts), set(event.erased)
    if salted & erased:
        return f"{n}: {', '.join(sorted(salted & erased))} both salted and erased"
    if salted | erased != personal:
        return f"{n}: its committed fields are not its personal fields ({_names(personal)})"
    for name, salt in event.salts.items():
        if not isinstance(salt, str) or not _SALT.fullmatch(salt):
            return f"{n}: the salt of {name} is not at least {SALT_BYTES} bytes in hex"
    for name, record in event.erased.items():
        if not _well_formed(record):
            return f"{n}: the erasure record of {name} is malformed"
        if event.data[name] is not None:
            return f"{n}: {name} is marked erased but still holds a value"
    return None


def _well_formed(record: Any) -> bool:
    return (
        isinstance(record, Mapping)
        and set(record) == RECORD
        and all(isinstance(v, str) for v in record.values())
        and bool(_HEX64.fullmatch(record["commitment"]))
    )


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"


def basis_text(basis: str) -> str:
    """``basis`` without surrounding blanks; InvalidErasureBasis if blank or too long."""
    text = basis.strip()
    if not text:
        raise InvalidErasureBasis("an erasure needs a basis that is not blank")
    if len(text) > MAX_BASIS_CHARS:
        raise InvalidErasureBasis(f"an erasure's basis is at most {MAX_BASIS_CHARS} characters")
    return text


def personal_values(event: Event) -> frozenset[str]:
    """The personal fields of ``event`` that hold a value (``None`` is nothing to erase)."""
    names = PERSONAL.get(event.type, frozenset())
    return frozenset(k for k in names if event.data.get(k) is not None)


def erasable(event: Event, wanted: frozenset[str] | None) -> frozenset[str]:
    """The fields of a format-2 ``event`` (of ``wanted``, or all) an erasure still removes:
    those salted and holding a value (a ``None`` has nothing to erase)."""
    held = frozenset(k for k in event.salts if event.data.get(k) is not None)
    return held if wanted is None else held & wanted


def recorded(events: Iterable[Event]) -> set[tuple[int, str]]:
    """Every (seq, field) an erasure record among ``events`` already names."""
    return {
        (item["seq"], name)
        for e in events
        if e.type is EventType.ERASED
        for item in e.data["fields"]
        for name in item["fields"]
    }


def unrecorded(events: Iterable[Event]) -> dict[int, list[str]]:
    """The erased fields no erasure record names yet, by event seq: what the next one owes.

    Fields are erased event by event and recorded afterwards, so after a crash in
    between these are exactly the fields the interrupted erasure did not record.
    """
    events = list(events)
    done = recorded(events)
    owed: dict[int, list[str]] = {}
    for e in events:
        names = sorted(k for k in e.erased if (e.seq, k) not in done)
        if names:
            owed[e.seq] = names
    return owed


def record_erasure(
    conv: Conversation, owed: Mapping[int, Sequence[str]], *, basis: str, by: Actor,
    at: datetime,
) -> Transition:  # fmt: skip
    """The ``erased`` event recording the erasure of ``owed`` (fields by event seq), and
    its audit entry.

    Allowed in any state: it is the one event that may follow the conversation's ending.
    A message text erased clears the summary's preview of the last message. Raises
    InvalidErasureBasis for a blank or overlong basis, ``ValueError`` if ``owed`` is empty.
    """
    text = basis_text(basis)
    if not owed:
        raise ValueError("an erasure record names at least one erased field")
    fields = [{"seq": seq, "fields": sorted(owed[seq])} for seq in sorted(owed)]
    texts = any("text" in names for names in owed.values())
    t = append_event(
        conv, EventType.ERASED, SYSTEM, at,
        {"basis": text, "by": by.to_dict(), "fields": fields},
        last_message=None if texts else conv.last_message,
    )  # fmt: skip
    count = sum(len(names) for names in owed.values())
    return audited(t, by, AuditAction.ERASED, basis=text, fields=count)


def record_problem(events: Sequence[Event]) -> str | None:
    """``None`` if every erasure record names only fields erased in events before it, else
    the first that names one that is not."""
    by_seq = {e.seq: e for e in events}
    for e in events:
        if e.type is not EventType.ERASED:
            continue
        for item in e.data["fields"]:
            target = by_seq.get(item["seq"])
            if target is None or target.seq >= e.seq:
                return f"event {e.seq}: its erasure record names event {item['seq']}, not before it"
            missing = set(item["fields"]) - set(target.erased)
            if missing:
                return (
                    f"event {e.seq}: it records {_names(missing)} of event {target.seq} "
                    "as erased, but the event still holds them"
                )
    return None
