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
  (personal data, which logs would keep past the retention the operator set for it).
"""

from __future__ import annotations

import logging
import re
import time

from starlette.types import Message, Scope, Send

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


class Exchange:
    """One HTTP request or WebSocket connection: its ids, bound for the rest of the task
    serving it (an ASGI server serves each in a task of its own), its answer's
    ``X-Request-Id`` (:meth:`send`) and its access line (:meth:`done`).

    An object with slots, not a wrapping coroutine: a WebSocket keeps it for as long as it
    is open, and a suspended coroutine frame and a closure would cost several times more
    (see :class:`parley.web.app.ParleyApp`).
    """

    __slots__ = ("_send", "accepted", "close_code", "ids", "scope", "started", "status")

    def __init__(self, scope: Scope, send: Send) -> None:
        self.scope = scope
        self._send = send
        self.started = time.perf_counter()
        self.status: int | None = None
        self.accepted = False
        self.close_code: int | None = None
        if scope["type"] == "websocket":
            self.ids = logs.Ids(connection_id=incoming_id(scope) or new_id("w"))
        else:
            self.ids = logs.Ids(request_id=incoming_id(scope) or new_id("r"))
        logs.bind(self.ids)

    async def send(self, message: Message) -> None:
        """``send``, with the id in the answer's headers; noting the status or close code."""
        kind = message["type"]
        if kind == "http.response.start":
            self.status = message["status"]
            message = self._with_id(message)
        elif kind == "websocket.accept":
            self.accepted = True
            message = self._with_id(message)
            log.debug("websocket %s opened", self.scope["path"], extra={"path": self.scope["path"]})
        elif kind == "websocket.close" and self.accepted and self.close_code is None:
            self.close_code = message.get("code", 1000)
        await self._send(message)

    def _with_id(self, message: Message) -> Message:
        value = str(self.ids.request_id or self.ids.connection_id).encode()
        return {**message, "headers": [*message.get("headers", ()), (HEADER, value)]}

    def done(self) -> None:
        """Log the access line."""
        path = self.scope["path"]
        ms = round((time.perf_counter() - self.started) * 1000, 1)
        if self.scope["type"] == "http":
            method, status = self.scope["method"], self.status
            quiet = path == "/healthz" and status == 200
            log.log(
                logging.DEBUG if quiet else logging.INFO,
                "%s %s %s",
                method,
                path,
                status or "-",
                extra={"method": method, "path": path, "status": status, "duration_ms": ms},
            )
            return
        if not self.accepted:
            outcome = "refused"
        elif self.close_code is None:
            outcome = "closed by the client"
        else:
            outcome = f"closed by the server ({self.close_code})"
        log.info(
            "websocket %s %s",
            path,
            outcome,
            extra={"path": path, "close_code": self.close_code, "duration_ms": ms},
        )
