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
from parley.web import shapes
from parley.web.operations import JSON, Args, core_of, operation
from parley.web.params import Whole

#: Tree sizes are unsigned 64-bit numbers in a checkpoint.
MAX_SIZE = (1 << 63) - 1
NOTE_TYPE = "text/plain; charset=utf-8"
NOTE = {"text/plain": {"type": "string"}}
NO_CACHE = {"Cache-Control": "no-cache: a newer checkpoint may come at any time"}


def _note(signed: SignedCheckpoint | None, what: str) -> PlainTextResponse:
    text = signed.witnessed_note() if signed else None
    if text is None:
        raise CheckpointNotFound(f"no checkpoint {what} has been signed as a note")
    return PlainTextResponse(text, media_type=NOTE_TYPE, headers={"Cache-Control": "no-cache"})


@operation(answers=NOTE, headers=NO_CACHE, errors=(CheckpointNotFound,))
async def latest_checkpoint(request: Request, args: Args) -> PlainTextResponse:
    """The newest checkpoint, signed by the log, with every witness cosignature it has.

    A C2SP signed note (tlog-checkpoint); 404 before the first is signed."""
    return _note(await core_of(request).store.signed_checkpoint(), "yet")


@operation(
    path={"size": Whole(1, MAX_SIZE)}, answers=NOTE, headers=NO_CACHE,
    errors=(CheckpointNotFound,),
)  # fmt: skip
async def checkpoint_of_size(request: Request, args: Args) -> PlainTextResponse:
    """The checkpoint of one tree size: what a bundle's checkpoint can be compared with."""
    size = args.whole("size")
    return _note(await core_of(request).store.signed_checkpoint(size), f"of size {size}")


PROOF = shapes.record(
    {
        "old_size": {"type": "integer"},
        "new_size": {"type": "integer"},
        "proof": {"type": "array", "items": shapes.STRING},
    }
)


@operation(query={"old": Whole(0, MAX_SIZE, 0), "new": Whole(0, MAX_SIZE)}, answers={JSON: PROOF})
async def consistency(request: Request, args: Args) -> dict[str, Any]:
    """An RFC 9162 §2.1.4 proof that the tree of ``old`` leaves is a prefix of that of ``new``.

    ``new`` defaults to the newest signed checkpoint's size, ``old`` to 0. Both must be
    within that checkpoint: a proof about leaves no checkpoint commits to proves nothing.
    """
    store = core_of(request).store
    latest = await store.signed_checkpoint()
    signed_size = latest.checkpoint.tree_size if latest else 0
    old, new = args.whole("old") or 0, args.whole("new")
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
