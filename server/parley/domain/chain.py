"""Hash chains: records numbered 1, 2, 3, ... each holding the hash of the one before.

Used by conversation transcripts and by the audit trail. A record's hash is
SHA-256 over the canonical JSON of all its fields but the hash itself.
Canonical JSON is RFC 8785 (JCS), written by the ``rfc8785`` library. Parley's
records hold only strings, integers within ±(2**53 - 1), booleans, null, arrays
and objects with ASCII keys; for those, JCS is what ``json.dumps`` writes with
sorted keys, no whitespace and ``ensure_ascii=False``, so the digests of records
made before the library was used are unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

import rfc8785

GENESIS = "0" * 64


def canonical_json(value: Any) -> bytes:
    """The bytes that are hashed: the RFC 8785 canonical JSON of ``value``, in UTF-8.

    Raises ``rfc8785.CanonicalizationError`` (a ValueError) for what JCS cannot
    write: an integer beyond ±(2**53 - 1), NaN or infinity, a key that is not a
    string, a lone surrogate, a value that is no JSON type.
    """
    return rfc8785.dumps(value)


def digest(value: Any) -> str:
    """Hex SHA-256 of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


class Linked(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def hash(self) -> str: ...
    def computed_hash(self) -> str: ...


def verify_links(records: Sequence[Linked], name: str, first_seq: int = 1) -> str | None:
    """``None`` if ``records`` form an unbroken chain from ``first_seq``, else the first break.

    A chain that starts past seq 1 (a slice) is checked from its first record's
    ``prev_hash`` on.
    """
    prev = records[0].prev_hash if records and first_seq > 1 else GENESIS
    for expected, record in enumerate(records, start=first_seq):
        if record.seq != expected:
            return f"{name} at position {expected} has seq {record.seq}: one is missing or moved"
        if record.prev_hash != prev:
            return f"{name} {record.seq} does not link to the {name} before it"
        if record.computed_hash() != record.hash:
            return f"{name} {record.seq} was altered: its content does not match its hash"
        prev = record.hash
    return None
