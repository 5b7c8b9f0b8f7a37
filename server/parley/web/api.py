"""HTTP API basics: JSON errors, bearer tokens; and the public endpoints.

Errors are JSON ``{"error": {"code", "message"}}`` with the codes of
``docs/protocol.md`` (:mod:`parley.web.errors`). Staff endpoints take
``Authorization: Bearer <token>``: no valid token is 401, a role that may not is 403.
Query and path parameters are read through :mod:`parley.web.params`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from parley import logs, metrics
from parley.domain.agent import Staff, StaffRole
from parley.domain.anchor import log_verifier_key
from parley.domain.widget import WidgetBuild
from parley.errors import ParleyError, Unauthorized
from parley.keys import public_key_base64
from parley.protocol.errors import code_of, error_body, is_fault
from parley.service.core import Core, policy_view
from parley.web.cursors import Cursors
from parley.web.errors import fault
from parley.web.params import Params
from parley.web.sockets import origin_allowed

#: The status answer depends on the Origin, and any page may read it.
WIDGET_STATUS_HEADERS = {"Access-Control-Allow-Origin": "*", "Vary": "Origin"}

Handler = Callable[[Request], Awaitable[Any]]


def core_of(request: Request) -> Core:
    core: Core = request.app.state.core
    return core


def cursors_of(request: Request) -> Cursors:
    cursors: Cursors = request.app.state.cursors
    return cursors


def json_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run ``handler``; answer its result as JSON (or as-is if a Response), or a typed error.

    Any other exception is a fault of the server, answered by :func:`parley.web.errors.fault`.
    """

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except ParleyError as e:
            if is_fault(e):
                return await fault(request, e)
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(e, Unauthorized) else None
            code, status = code_of(e)
            metrics.error("http", code)
            return JSONResponse(error_body(e), status_code=status, headers=headers)
        return result if isinstance(result, Response) else JSONResponse(result)

    return endpoint


async def staff_of(request: Request, allowed: frozenset[StaffRole]) -> Staff:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    staff = await core_of(request).authenticate(
        token.strip() if scheme.lower() == "bearer" else None, allowed
    )
    if (ids := logs.current()) is not None:
        ids.staff_id = staff.id
    return staff


@json_endpoint
async def policy_in_force(request: Request) -> dict[str, Any]:
    Params(request)
    return policy_view(core_of(request).policy_in_force())


@json_endpoint
async def signing_key(request: Request) -> dict[str, Any]:
    """The public key that verifies checkpoints: publish it where disputes can find it."""
    Params(request)
    core = core_of(request)
    latest = await core.store.latest_checkpoint()
    return {
        "algorithm": "Ed25519",
        "public_key": public_key_base64(core.key),
        "log": {
            "origin": core.log_origin,
            "verifier_key": str(log_verifier_key(core.log_origin, core.key)),
            "witnesses": [str(w.key) for w in core.witnesses],
        },
        "latest_checkpoint": (
            {"checkpoint": latest[0].to_dict(), "signature": latest[1]} if latest else None
        ),
    }


@json_endpoint
async def widget_status(request: Request) -> Response:
    """Whether the visitor socket takes the calling page's Origin.

    A browser cannot read why a WebSocket upgrade failed; the widget asks here
    so it can tell the visitor that chat is not offered on this site instead of
    retrying for ever. Any page may ask (the answer is no secret), so it is
    served with ``Access-Control-Allow-Origin: *``.
    """
    Params(request)
    allowed = origin_allowed(request, request.app.state.settings)
    return JSONResponse({"allowed": allowed}, headers=WIDGET_STATUS_HEADERS)


@json_endpoint
async def widget_build(request: Request) -> dict[str, Any]:
    """The widget build this server serves: what the embed snippet pins (``parley widget
    snippet``), and what acceptances are weighed against."""
    Params(request)
    widget: WidgetBuild = request.app.state.widget
    return {"build": widget.build, "sha256": widget.sha256, "sri": widget.sri, "url": widget.path}


@json_endpoint
async def health(request: Request) -> dict[str, Any]:
    Params(request)
    return {"status": "ok"}
