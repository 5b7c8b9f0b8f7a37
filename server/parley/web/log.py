"""The transparency log's public face: checkpoints as C2SP signed notes, consistency proofs.

Anyone may read these — a checkpoint holds only a size and a hash — so that
witnesses, monitors and the parties to a dispute can follow the log without a
token: ``parley log monitor`` does, and so can any tool that reads
c2sp.org/tlog-checkpoint notes.
"""

from __future__ import annotations

import base64
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse

from parley.domain.anchor import SignedCheckpoint
from parley.errors import BadRequest, CheckpointNotFound
from parley.web.api import core_of, json_endpoint
from parley.web.params import Params

#: Tree sizes are unsigned 64-bit numbers in a checkpoint.
MAX_SIZE = (1 << 63) - 1
NOTE_TYPE = "text/plain; charset=utf-8"


def _note(signed: SignedCheckpoint | None, what: str) -> PlainTextResponse:
    text = signed.witnessed_note() if signed else None
    if text is None:
        raise CheckpointNotFound(f"no checkpoint {what} has been signed as a note")
    return PlainTextResponse(text, media_type=NOTE_TYPE, headers={"Cache-Control": "no-cache"})


@json_endpoint
async def latest_checkpoint(request: Request) -> PlainTextResponse:
    """The newest checkpoint, signed by the log, with every witness cosignature it has."""
    Params(request)
    return _note(await core_of(request).store.signed_checkpoint(), "yet")


@json_endpoint
async def checkpoint_of_size(request: Request) -> PlainTextResponse:
    """The checkpoint of one tree size: what a bundle's checkpoint can be compared with."""
    size = Params(request).path_whole("size", 1, MAX_SIZE)
    return _note(await core_of(request).store.signed_checkpoint(size), f"of size {size}")


@json_endpoint
async def consistency(request: Request) -> dict[str, Any]:
    """An RFC 9162 §2.1.4 proof that the tree of ``old`` leaves is a prefix of that of ``new``.

    ``new`` defaults to the newest signed checkpoint's size, ``old`` to 0. Both must be
    within that checkpoint: a proof about leaves no checkpoint commits to proves nothing.
    """
    q = Params(request, "old", "new")
    store = core_of(request).store
    latest = await store.signed_checkpoint()
    signed_size = latest.checkpoint.tree_size if latest else 0
    old, new = q.whole("old", 0, MAX_SIZE) or 0, q.whole("new", 0, MAX_SIZE)
    new = signed_size if new is None else new
    if old > new:
        raise BadRequest(f"old ({old}) must not be larger than new ({new})")
    if new > signed_size:
        raise BadRequest(f"new ({new}) is beyond the newest signed checkpoint ({signed_size})")
    proof = await store.consistency_proof(old, new)
    return {
        "old_size": old,
        "new_size": new,
        "proof": [base64.b64encode(h).decode() for h in proof],
    }
