"""HTTP API basics: JSON errors, bearer tokens, paging; and the public endpoints.

Errors are JSON ``{"error": {"code", "message"}}`` with the codes of
``docs/protocol.md``. Staff endpoints take ``Authorization: Bearer <token>``:
no valid token is 401, a role that may not is 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from parley.domain.agent import Staff, StaffRole
from parley.errors import BadRequest, ParleyError, Unauthorized
from parley.keys import public_key_base64
from parley.protocol.errors import code_of, error_body
from parley.service.core import Core, policy_view

Handler = Callable[[Request], Awaitable[Any]]


def core_of(request: Request) -> Core:
    core: Core = request.app.state.core
    return core


def json_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run ``handler``; answer its result as JSON (or as-is if a Response), or a typed error."""

    async def endpoint(request: Request) -> Response:
        try:
            result = await handler(request)
        except ParleyError as e:
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(e, Unauthorized) else None
            return JSONResponse(error_body(e), status_code=code_of(e)[1], headers=headers)
        return result if isinstance(result, Response) else JSONResponse(result)

    return endpoint


async def staff_of(request: Request, allowed: frozenset[StaffRole]) -> Staff:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return await core_of(request).authenticate(
        token.strip() if scheme.lower() == "bearer" else None, allowed
    )


def paging(request: Request) -> tuple[str | None, int]:
    raw = request.query_params.get("limit", "50")
    if not raw.isdigit():
        raise BadRequest(f"limit {raw!r} is not a whole number")
    return request.query_params.get("cursor"), int(raw)


def int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit():
        raise BadRequest(f"{name} {raw!r} is not a whole number")
    return int(raw)


@json_endpoint
async def policy_in_force(request: Request) -> dict[str, Any]:
    return policy_view(core_of(request).policy_in_force())


@json_endpoint
async def signing_key(request: Request) -> dict[str, Any]:
    """The public key that verifies checkpoints: publish it where disputes can find it."""
    core = core_of(request)
    latest = await core.store.latest_checkpoint()
    return {
        "algorithm": "Ed25519",
        "public_key": public_key_base64(core.key),
        "latest_checkpoint": (
            {"checkpoint": latest[0].to_dict(), "signature": latest[1]} if latest else None
        ),
    }


@json_endpoint
async def health(request: Request) -> dict[str, Any]:
    return {"status": "ok"}
