"""The HTTP API: the policy in force, and the compliance read endpoints.

Compliance endpoints take ``Authorization: Bearer <token>`` of a compliance or
admin staff member: no token is 401, another role is 403. Errors are JSON
``{"error": {"code", "message"}}`` with the codes of ``docs/protocol.md``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from parley.domain.agent import EVIDENCE_ROLES
from parley.errors import BadRequest, ParleyError, Unauthorized
from parley.protocol.errors import code_of, error_body
from parley.service import compliance
from parley.service.core import Core, policy_view

Handler = Callable[[Request], Awaitable[Any]]


def _core(request: Request) -> Core:
    core: Core = request.app.state.core
    return core


def json_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run ``handler``; answer its result as JSON, or its ParleyError as a typed error."""

    async def endpoint(request: Request) -> Response:
        try:
            return JSONResponse(await handler(request))
        except ParleyError as e:
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(e, Unauthorized) else None
            return JSONResponse(error_body(e), status_code=code_of(e)[1], headers=headers)

    return endpoint


async def _compliance_staff(request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    await _core(request).authenticate(token if scheme.lower() == "bearer" else None, EVIDENCE_ROLES)


def _paging(request: Request) -> tuple[str | None, int]:
    raw = request.query_params.get("limit", "50")
    if not raw.isdigit():
        raise BadRequest(f"limit {raw!r} is not a whole number")
    return request.query_params.get("cursor"), int(raw)


@json_endpoint
async def policy_in_force(request: Request) -> dict[str, Any]:
    return policy_view(_core(request).policy_in_force())


@json_endpoint
async def health(request: Request) -> dict[str, Any]:
    return {"status": "ok"}


@json_endpoint
async def conversation_record(request: Request) -> dict[str, Any]:
    await _compliance_staff(request)
    return await compliance.conversation_record(_core(request), request.path_params["id"])


@json_endpoint
async def visitor_acceptances(request: Request) -> dict[str, Any]:
    await _compliance_staff(request)
    cursor, limit = _paging(request)
    return await compliance.visitor_acceptances(
        _core(request), request.path_params["visitor_id"], cursor, limit
    )


@json_endpoint
async def policy_conversations(request: Request) -> dict[str, Any]:
    await _compliance_staff(request)
    cursor, limit = _paging(request)
    return await compliance.policy_conversations(
        _core(request),
        request.path_params["policy_id"],
        request.path_params["version"],
        cursor,
        limit,
    )
