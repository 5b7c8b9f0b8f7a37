"""Request ids, and one access line per HTTP request and per WebSocket connection.

* An HTTP request's id is its ``X-Request-Id`` if that is a sane token (1 to 128 of
  ``A-Z a-z 0-9 . _ -``: a proxy's or a client's, to follow one request across
  systems), else a new ``r_…`` id; a WebSocket connection's id is, the same way,
  its upgrade's ``X-Request-Id`` or a new ``w_…`` id. Either is answered in the
  response's ``X-Request-Id`` (a WebSocket's in its 101) and carried by every line
  logged while serving it (:mod:`parley.logs`), with the staff member, visitor and
  conversation ids as they become known.
* The access line (logger ``parley.access``): method, path, status and duration in
  ms of a request, at ``info`` (``debug`` for a successful ``/healthz``, which load
  balancers poll); a connection's path, how it closed and how long it lasted, when it
  ends. Never the query string (values there could be tokens) nor the client's address
  (personal data kept no longer than the retention the operator set for it).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley import logs
from parley.service.core import new_id

log = logging.getLogger("parley.access")

SANE = re.compile(rb"[A-Za-z0-9._-]{1,128}")
HEADER = b"x-request-id"


def incoming_id(scope: Scope) -> str | None:
    """The request's own ``X-Request-Id``, if it is a sane token (the first, if several)."""
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            return value.decode("ascii") if SANE.fullmatch(value) else None
    return None


def observed(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
    """Run ``app`` on one request or connection with its ids bound, echoed and logged.

    A plain function, not a coroutine: no frame of its own is kept for as long as a
    WebSocket is open (see :class:`parley.web.app.ParleyApp`)."""
    if scope["type"] == "http":
        return _request(app, scope, receive, send)
    if scope["type"] == "websocket":
        return _connection(app, scope, receive, send)
    return app(scope, receive, send)


def _with_id(message: Message, value: str) -> Message:
    return {**message, "headers": [*message.get("headers", ()), (HEADER, value.encode())]}


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


async def _request(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    request_id = incoming_id(scope) or new_id("r")
    status: int | None = None
    started = time.perf_counter()

    async def send_with_id(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            message = _with_id(message, request_id)
        await send(message)

    with logs.bound(logs.Ids(request_id=request_id)):
        try:
            await app(scope, receive, send_with_id)
        finally:
            quiet = scope["path"] == "/healthz" and status == 200
            log.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %s",
                scope["method"],
                scope["path"],
                status or "-",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": _ms(started),
                },
            )


async def _connection(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    ids = logs.Ids(connection_id=incoming_id(scope) or new_id("w"))
    accepted = False
    close_code: int | None = None
    started = time.perf_counter()

    async def send_with_id(message: Message) -> None:
        nonlocal accepted, close_code
        if message["type"] == "websocket.accept":
            accepted = True
            message = _with_id(message, str(ids.connection_id))
            log.debug("websocket %s opened", scope["path"], extra={"path": scope["path"]})
        elif message["type"] == "websocket.close" and accepted and close_code is None:
            close_code = message.get("code", 1000)
        await send(message)

    with logs.bound(ids):
        try:
            await app(scope, receive, send_with_id)
        finally:
            if not accepted:
                outcome = "refused"
            elif close_code is None:
                outcome = "closed by the client"
            else:
                outcome = f"closed by the server ({close_code})"
            log.info(
                "websocket %s %s",
                scope["path"],
                outcome,
                extra={
                    "path": scope["path"],
                    "close_code": close_code,
                    "duration_ms": _ms(started),
                },
            )
