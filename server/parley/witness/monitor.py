"""``parley log monitor``: follow a Parley log's checkpoints and report any inconsistency.

Each check fetches ``GET /log/checkpoint``, opens it with the log's key (and, if
asked, a quorum of witness cosignatures), and compares it with the last
checkpoint this monitor accepted: the same size must have the same root, the
size may not shrink, and a larger size must come with a consistency proof
(``GET /log/consistency?old=M&new=N``) that verifies. A checkpoint that fails is
INCONSISTENT: the log has shown two histories that cannot both be true, and the
monitor keeps both signed checkpoints as evidence in its state file; it keeps
comparing with the last consistent one. A checkpoint it cannot check (no answer,
not a checkpoint, not signed by the log's key) is UNCHECKED and changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import httpx

from parley import keys
from parley.domain import merkle, note
from parley.domain.note import CheckpointBody, NoteMalformed, NoteUnverified, VerifierKey

#: No consistency proof of a tree below 2^64 leaves has more hashes.
MAX_PROOF = 64


class Verdict(Enum):
    OK = 0
    INCONSISTENT = 1
    UNCHECKED = 2


@dataclass(frozen=True)
class Report:
    verdict: Verdict
    message: str


class Unchecked(Exception):
    """A checkpoint or proof that could not be fetched, read or authenticated."""


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint the monitor opened: origin, size, root, and the signed note as served."""

    origin: str
    size: int
    root: str
    signed: str

    @property
    def root_hash(self) -> bytes:
        return base64.b64decode(self.root)

    def describe(self) -> str:
        return f"{self.origin}  size {self.size}  root {self.root}"


@dataclass(frozen=True)
class Inconsistency:
    """Two signed checkpoints of one log that cannot both be true, and why."""

    reason: str
    known: Checkpoint
    offered: Checkpoint
    detected_at: str = ""

    def report(self) -> str:
        return (
            f"INCONSISTENT {self.known.origin}: {self.reason}\n"
            f"  checked before: {self.known.describe()}\n"
            f"  served now:     {self.offered.describe()}"
        )


def parse_log_key(text: str) -> VerifierKey | bytes:
    """A verifier key (``origin+id+base64(0x01||key)``), or raw Ed25519 key bytes (base64/PEM)."""
    try:
        vkey = VerifierKey.parse(text)
    except NoteMalformed as as_vkey:
        try:
            return keys.parse_public_key(text)
        except ValueError as as_raw:
            raise ValueError(
                f"the log key is neither a verifier key ({as_vkey}) nor {as_raw}"
            ) from None
    if vkey.sig_type != note.ED25519:
        raise ValueError(f"a log signs with an Ed25519 (type 0x01) key, not {vkey}")
    return vkey


def open_checkpoint(
    text: str, log_key: VerifierKey | bytes, witnesses: Sequence[VerifierKey], quorum: int
) -> Checkpoint:
    """The checkpoint in ``text`` if the log signed it and ``quorum`` witnesses cosigned it."""
    try:
        signed = note.parse(text)
        body = CheckpointBody.parse(signed.text)
    except NoteMalformed as e:
        raise Unchecked(f"not a checkpoint: {e}") from None
    key = log_key
    if not isinstance(key, VerifierKey):
        key = VerifierKey(body.origin, note.ED25519, key)
    try:
        note.verify(signed, [key])
    except NoteUnverified as e:
        raise Unchecked(f"refused: the log's signature does not verify: {e}") from None
    if quorum:
        try:
            cosigners = {v.key for v in note.verify(signed, witnesses)}
        except NoteUnverified as e:
            raise Unchecked(f"refused: {e}") from None
        if len(cosigners) < quorum:
            raise Unchecked(
                f"refused: {len(cosigners)} of the witnesses cosigned, {quorum} are required"
            )
    return Checkpoint(body.origin, body.size, note.b64(body.root), text)


def compare(known: Checkpoint, offered: Checkpoint, proof: Sequence[bytes]) -> str | None:
    """Why ``offered`` cannot follow ``known`` in one log, or None if it can."""
    if offered.size < known.size:
        return f"the size went back from {known.size} to {offered.size}"
    if offered.size == known.size:
        if offered.root == known.root:
            return None
        return f"two roots for size {known.size}: {known.root} and {offered.root}"
    if merkle.verify_consistency(
        known.size, offered.size, known.root_hash, offered.root_hash, proof
    ):
        return None
    return (
        f"the log's consistency proof from size {known.size} (root {known.root}) to size "
        f"{offered.size} (root {offered.root}) does not verify"
    )


def parse_proof(data: Any, old: int, new: int) -> list[bytes]:
    """The hashes of a ``/log/consistency`` answer for ``old`` → ``new``."""
    if (
        not isinstance(data, dict)
        or data.get("old_size") != old
        or data.get("new_size") != new
        or not isinstance(data.get("proof"), list)
        or len(data["proof"]) > MAX_PROOF
    ):
        raise Unchecked(f"the consistency answer is not a proof from {old} to {new}")
    try:
        hashes = [base64.b64decode(h, validate=True) for h in data["proof"]]
    except (TypeError, binascii.Error, ValueError):
        raise Unchecked("the consistency proof holds a line that is not base64") from None
    if any(len(h) != 32 for h in hashes):
        raise Unchecked("the consistency proof holds a hash that is not 32 bytes")
    return hashes


@dataclass
class MonitorState:
    """The last consistent checkpoint, and every inconsistency found, kept as JSON."""

    known: Checkpoint | None = None
    inconsistencies: list[Inconsistency] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | None) -> MonitorState:
        if path is None or not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            known = Checkpoint(**data["known"]) if data["known"] else None
            found = [
                Inconsistency(
                    i["reason"],
                    Checkpoint(**i["known"]),
                    Checkpoint(**i["offered"]),
                    i["detected_at"],
                )
                for i in data["inconsistencies"]
            ]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"the monitor state {path} is not readable: {e}") from None
        return cls(known, found)

    def save(self, path: Path | None) -> None:
        if path is None:
            return
        data = {
            "known": asdict(self.known) if self.known else None,
            "inconsistencies": [asdict(i) for i in self.inconsistencies],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, path)


@dataclass
class Monitor:
    """One log followed from ``url`` (a Parley server's base URL)."""

    url: str
    log_key: VerifierKey | bytes
    witnesses: Sequence[VerifierKey] = ()
    quorum: int = 0
    state_path: Path | None = None
    state: MonitorState = field(init=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self.state = MonitorState.load(self.state_path)

    async def _get(self, http: httpx.AsyncClient, path: str) -> httpx.Response:
        try:
            response = await http.get(self.url + path)
        except httpx.TransportError as e:
            raise Unchecked(f"no answer from {self.url}{path}: {type(e).__name__} {e}") from None
        if response.status_code != 200:
            raise Unchecked(f"{self.url}{path} answered {response.status_code}")
        return response

    async def check(self, http: httpx.AsyncClient) -> Report:
        """Fetch the log's checkpoint and compare it with the last one accepted."""
        try:
            response = await self._get(http, "/log/checkpoint")
            offered = open_checkpoint(response.text, self.log_key, self.witnesses, self.quorum)
            known = self.state.known
            if known is not None and offered.origin != known.origin:
                raise Unchecked(f"the log's origin is {offered.origin!r}, not {known.origin!r}")
            proof: list[bytes] = []
            if known is not None and 0 < known.size < offered.size:
                path = f"/log/consistency?old={known.size}&new={offered.size}"
                answer = await self._get(http, path)
                try:
                    proof = parse_proof(answer.json(), known.size, offered.size)
                except ValueError:
                    raise Unchecked("the consistency answer is not JSON") from None
        except Unchecked as e:
            return Report(Verdict.UNCHECKED, f"UNCHECKED {self.url}: {e}")
        if known is None:
            self._accept(offered)
            return Report(Verdict.OK, f"OK {offered.describe()}  (first checkpoint seen)")
        reason = compare(known, offered, proof)
        if reason is None:
            self._accept(offered)
            since = f"consistent with size {known.size}"
            return Report(Verdict.OK, f"OK {offered.describe()}  ({since})")
        return Report(Verdict.INCONSISTENT, self._keep(Inconsistency(reason, known, offered)))

    def _accept(self, checkpoint: Checkpoint) -> None:
        self.state.known = checkpoint
        self.state.save(self.state_path)

    def _keep(self, found: Inconsistency) -> str:
        pairs = {(i.known.signed, i.offered.signed) for i in self.state.inconsistencies}
        if (found.known.signed, found.offered.signed) not in pairs:
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            self.state.inconsistencies.append(
                Inconsistency(found.reason, found.known, found.offered, now)
            )
            self.state.save(self.state_path)
        return found.report()
