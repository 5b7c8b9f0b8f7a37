"""How the HTTP API answers what went wrong: always JSON, ``{"error": {"code", "message"}}``.

* A :class:`~parley.errors.ParleyError` raised by an endpoint gets its code and
  status (``json_endpoint`` in :mod:`parley.web.operations`).
* Routing: an unknown path is 404 ``not_found``, a method the path does not
  take is 405 ``method_not_allowed`` with an ``Allow`` header (:func:`routing`).
* A fault of the server's side (:func:`fault`): the store unavailable (503
  ``unavailable``) or anything unexpected (500 ``internal``) is answered with a
  fixed message and an ``error_id``; the detail and traceback go to the log
  under that id, never to the client (a driver's message names hosts and ports).
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from parley import metrics
from parley.errors import ParleyError
from parley.protocol.errors import FAULT_MESSAGES, INTERNAL, code_of, http_error_body
from parley.service.core import new_id

log = logging.getLogger("parley.web")

INTERNAL_MESSAGE = "the server failed to answer this request; quote the error_id to report it"
#: The fixed texts of faults over HTTP: the sockets' own, but ``internal`` closes no connection.
MESSAGES = {**FAULT_MESSAGES, INTERNAL[0]: INTERNAL_MESSAGE}


async def routing(request: Request, exc: Exception) -> Response:
    """Routing errors answer in the API's JSON error shape, like every other error."""
    assert isinstance(exc, HTTPException)
    body = http_error_body(exc.status_code, exc.detail)
    metrics.error("http", body["error"]["code"])
    return JSONResponse(body, exc.status_code, headers=exc.headers)


async def fault(request: Request, exc: Exception) -> Response:
    """A fault of the server's side: logged with its traceback under a new error id, answered
    with its code and a fixed message (``unavailable``, 503) or as ``internal`` (500)."""
    error_id = new_id("e")
    log.error(
        "error_id %s: unexpected error answering %s %s",
        error_id,
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"error_id": error_id},
    )
    code, status = code_of(exc) if isinstance(exc, ParleyError) else INTERNAL
    metrics.error("http", code)
    body = {"code": code, "message": MESSAGES.get(code, INTERNAL_MESSAGE), "error_id": error_id}
    return JSONResponse({"error": body}, status)
