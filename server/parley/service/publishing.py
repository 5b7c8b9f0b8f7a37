"""Getting each new checkpoint of the log cosigned by witnesses and time-stamped by a TSA.

A checkpoint signed by the operator alone binds nobody but the operator's
word: whoever holds the key can sign a rewritten log too. A witness
(c2sp.org/tlog-witness) cosigns a checkpoint only if it is consistent with
every checkpoint of the log it cosigned before, so a log rebuilt after a
rewrite finds no witness to cosign it. The publisher submits the newest
checkpoint, with a consistency proof from the size each witness last
cosigned, and keeps the cosignatures beside the checkpoint.

With a time-stamping authority configured (``PARLEY_TSA_URL``), the
publisher also has the newest checkpoint's note stamped (RFC 3161): the
token proves the log had that root at that time to anyone who trusts the
TSA, not the operator.

It runs in the background, woken whenever a checkpoint is signed, and
again every ``retry`` seconds for a witness or TSA that was down; an
evidence export waits for it so the bundle carries the cosignatures and
the time stamp.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from collections.abc import Sequence

import httpx

from parley.config import Witness
from parley.domain import note
from parley.domain.anchor import SignedCheckpoint
from parley.errors import StoreUnavailable, TimestampError
from parley.evidence import timestamp
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
    def __init__(
        self,
        store: Store,
        witnesses: Sequence[Witness],
        tsa_url: str | None = None,
        tsa_certs: Sequence[bytes] = (),
        timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.witnesses = tuple(witnesses)
        self.tsa_url = tsa_url
        #: When given, a token is kept only if it verifies under these (PARLEY_TSA_CERT).
        self.tsa_certs = list(tsa_certs)
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
        """Stamp the newest checkpoint, and submit it to every witness that has not cosigned it."""
        if not self.witnesses and self.tsa_url is None:
            return
        async with self._lock:
            signed = await self.store.signed_checkpoint()
            if signed is None or signed.note is None:
                return
            missing = [w for w in self.witnesses if not cosigned_by(signed, w.key)]
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                if self.tsa_url is not None and signed.timestamp is None:
                    await self._stamp(http, self.tsa_url, signed)
                if not missing:
                    return
                answers = await asyncio.gather(*(self._submit(http, w, signed) for w in missing))
            lines = [sig.line() for got in answers for sig in got]
            await self.store.add_cosignatures(signed.checkpoint.tree_size, lines)

    async def _stamp(self, http: httpx.AsyncClient, url: str, signed: SignedCheckpoint) -> None:
        """Have the TSA stamp the checkpoint note's text, and keep the token."""
        assert signed.note is not None
        text = note.parse(signed.note).text.encode()
        try:
            token = await timestamp.request(url, text, http)
            if self.tsa_certs:
                timestamp.verify(token, text, self.tsa_certs)
        except TimestampError as e:
            log.warning("no time stamp for checkpoint %d (%s); retrying later",
                        signed.checkpoint.tree_size, e)  # fmt: skip
            return
        await self.store.save_timestamp(
            signed.checkpoint.tree_size, base64.b64encode(token).decode()
        )

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
