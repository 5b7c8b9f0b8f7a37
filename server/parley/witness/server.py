"""The witness's HTTP API: ``POST /add-checkpoint`` of c2sp.org/tlog-witness, and two
read-only routes for monitors, ``GET /checkpoint/{origin}`` and ``GET /forks``.

Every error is a short ``text/plain`` sentence saying what was wrong, with the
status code the spec gives (see :mod:`parley.witness.protocol`); a body above
:data:`MAX_BODY` is 413 and is not read further.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from parley.domain import note
from parley.witness.protocol import (
    Cosigned,
    Refusal,
    SizeConflict,
    Witness,
    check,
    parse_request,
)
from parley.witness.state import WitnessState

MAX_BODY = 64 * 1024
"""The largest request body read: 63 proof lines and a checkpoint with many signatures fit."""

SIZE_TYPE = "text/x.tlog.size"


class _TooLarge(Exception):
    pass


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _TooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _TooLarge
    return bytes(body)


def _refused(refusal: Refusal) -> Response:
    if isinstance(refusal, SizeConflict):
        # Exactly this type, no charset: the spec names it and clients compare it whole.
        return Response(f"{refusal.size}\n", 409, headers={"content-type": SIZE_TYPE})
    return PlainTextResponse(refusal.message + "\n", refusal.status)


def create_app(
    witness: Witness, state: WitnessState, clock: Callable[[], float] = time.time
) -> Starlette:
    """The witness app; it cosigns with ``witness`` and remembers in ``state``."""
    lock = asyncio.Lock()

    async def add_checkpoint(request: Request) -> Response:
        try:
            submission = parse_request(await _read_body(request))
            log_signatures = witness.authenticate(submission)
        except _TooLarge:
            return PlainTextResponse(f"a request body is at most {MAX_BODY} bytes\n", 413)
        except ClientDisconnect:
            return PlainTextResponse("the client went away\n", 400)
        except Refusal as refusal:
            return _refused(refusal)
        now = int(clock())
        cosignatures: list[note.Signature] = []

        def decide(latest: Cosigned | None) -> Cosigned:
            check(submission, latest)
            cosignature, record = witness.cosign(submission, log_signatures, now)
            cosignatures.append(cosignature)
            return record

        try:
            async with lock:
                await asyncio.to_thread(state.add, submission, decide, now)
        except Refusal as refusal:
            return _refused(refusal)
        return PlainTextResponse("".join(c.line() for c in cosignatures))

    async def checkpoint(request: Request) -> Response:
        origin = request.path_params["origin"]
        latest = await asyncio.to_thread(state.latest, origin)
        if latest is None:
            return PlainTextResponse(f"no checkpoint of {origin!r} cosigned here\n", 404)
        return PlainTextResponse(latest.note)

    async def forks(request: Request) -> Response:
        return JSONResponse({"forks": await asyncio.to_thread(state.forks)})

    return Starlette(
        routes=[
            Route("/add-checkpoint", add_checkpoint, methods=["POST"]),
            Route("/checkpoint/{origin:path}", checkpoint, methods=["GET"]),
            Route("/forks", forks, methods=["GET"]),
        ]
    )
