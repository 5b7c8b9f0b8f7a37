"""Erasing personal fields of transcript events without breaking their hashes.

A format-2 event hashes each personal field's salted commitment, not its value
(see :mod:`parley.domain.transcript`). Erasing a field drops its value (``None``
in ``data``) and its salt, and keeps its commitment with who erased it, when and
under which basis: the event still hashes to its ``hash``. That record of the
erasure is not itself covered by the hash; the commitment is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from parley.domain.transcript import PERSONAL, SALT_BYTES, Event, format_time

_HEX64 = re.compile(r"[0-9a-f]{64}")
_SALT = re.compile(rf"(?:[0-9a-f]{{2}}){{{SALT_BYTES},}}")
#: The fields of an erasure record.
RECORD = frozenset({"commitment", "at", "by", "basis"})


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
