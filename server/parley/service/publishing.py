"""Getting each new checkpoint of the log cosigned by the witnesses it is configured with.

A checkpoint signed by the operator alone binds nobody but the operator's
word: whoever holds the key can sign a rewritten log too. A witness
(c2sp.org/tlog-witness) cosigns a checkpoint only if it is consistent with
every checkpoint of the log it cosigned before, so a log rebuilt after a
rewrite finds no witness to cosign it. The publisher submits the newest
checkpoint, with a consistency proof from the size each witness last
cosigned, and keeps the cosignatures beside the checkpoint.

It runs in the background, woken whenever a checkpoint is signed, and
again every ``retry`` seconds for witnesses that were down; an evidence
export waits for it so the bundle carries the cosignatures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import httpx

from parley.config import Witness
from parley.domain import note
from parley.domain.anchor import SignedCheckpoint
from parley.errors import StoreUnavailable
from parley.store.base import Store
from parley.witness.client import (
    WitnessBadAnswer,
    WitnessConflict,
    WitnessRefused,
    WitnessUnreachable,
    add_checkpoint,
)

log = logging.getLogger("parley.publishing")

#: Times one submission follows a witness's "409: I am at size N" before giving up for now.
MAX_CONFLICTS = 3


def cosigned_by(signed: SignedCheckpoint, key: note.VerifierKey) -> bool:
    """Whether the checkpoint holds a cosignature line from ``key``."""
    return any(
        (sig.name, sig.key_id) == (key.name, key.key_id)
        for sig in map(note.Signature.parse_line, signed.cosignatures)
    )


class Publisher:
    def __init__(self, store: Store, witnesses: Sequence[Witness], timeout: float = 10.0) -> None:
        self.store = store
        self.witnesses = tuple(witnesses)
        self.timeout = timeout
        #: The tree size each witness last cosigned, as far as this process has heard.
        self._sizes: dict[note.VerifierKey, int] = {}
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def checkpoint_signed(self) -> None:
        """Wake the background publisher: a new checkpoint is waiting for cosignatures."""
        self._wake.set()

    async def run(self, retry: float = 60.0) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), retry)
            self._wake.clear()
            try:
                await self.publish()
            except StoreUnavailable as e:
                log.warning("could not read the log to publish it (%s); retrying", e)
            except Exception:
                log.exception("publishing the log's checkpoint failed; retrying")

    async def publish(self) -> None:
        """Submit the newest checkpoint to every witness that has not cosigned it yet."""
        if not self.witnesses:
            return
        async with self._lock:
            signed = await self.store.signed_checkpoint()
            if signed is None or signed.note is None:
                return
            missing = [w for w in self.witnesses if not cosigned_by(signed, w.key)]
            if not missing:
                return
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                answers = await asyncio.gather(*(self._submit(http, w, signed) for w in missing))
            lines = [sig.line() for got in answers for sig in got]
            await self.store.add_cosignatures(signed.checkpoint.tree_size, lines)

    async def _submit(
        self, http: httpx.AsyncClient, witness: Witness, signed: SignedCheckpoint
    ) -> list[note.Signature]:
        """The witness's verified cosignatures on ``signed``, or none (and why, in the log)."""
        assert signed.note is not None
        size = signed.checkpoint.tree_size
        old = self._sizes.get(witness.key, 0)
        for _ in range(MAX_CONFLICTS):
            if old > size:
                return []  # the witness already cosigned a newer checkpoint (another process's)
            proof = await self.store.consistency_proof(old, size)
            try:
                got = await add_checkpoint(http, witness.url, old, proof, signed.note)
            except WitnessConflict as e:
                old = self._sizes[witness.key] = e.size
                continue
            except WitnessRefused as e:
                log.error(
                    "witness %s refused checkpoint %d of %s (HTTP %d: %s): if the proof was "
                    "right, the witness holds another view of this log",
                    witness.key.name, size, signed.checkpoint.origin, e.status, e.message,
                )  # fmt: skip
                return []
            except (WitnessUnreachable, WitnessBadAnswer) as e:
                log.warning("witness %s is unavailable (%s); retrying later", witness.key.name, e)
                return []
            text = note.parse(signed.note).text
            try:
                verified = note.verify(note.Note(text, tuple(got)), [witness.key])
            except note.NoteUnverified as e:
                log.error("witness %s gave no valid cosignature: %s", witness.key.name, e)
                return []
            self._sizes[witness.key] = size
            return [v.signature for v in verified]
        log.warning("witness %s kept moving; checkpoint %d waits", witness.key.name, size)
        return []
