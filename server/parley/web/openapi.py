"""The OpenAPI 3.1 description of the HTTP API, generated from the routes' declarations.

:func:`document` walks the application's routes: every :class:`~parley.web.operations.Described`
route contributes its operations, each with the parameters, roles, body schema,
answers and errors it declares (:mod:`parley.web.operations`), so the description
lists exactly what the server reads. WebSocket routes are described in
docs/protocol.md instead. Served at ``GET /openapi.json``; ``parley openapi``
prints it, and ``parley openapi --markdown`` the reference in docs/api.md
(:mod:`parley.web.openapi_markdown`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.routing import BaseRoute

from parley import __version__
from parley.errors import (
    BadJson,
    BadRequest,
    Forbidden,
    ParleyError,
    StoreUnavailable,
    Unauthorized,
)
from parley.protocol.errors import CODES, HTTP_CODES
from parley.web import shapes
from parley.web.operations import JSON, Args, Described, Operation, operation
from parley.web.params import Reader

SECURITY = "staffToken"
TITLE = "Parley HTTP API"
DESCRIPTION = (
    "The HTTP API of a Parley server: the public endpoints, the compliance, admin and agent "
    "endpoints (a staff token as `Authorization: Bearer`; each operation names the roles it "
    "takes), and the widget and console files. Every error is JSON "
    '`{"error": {"code", "message"}}` with a code of docs/protocol.md §8. The WebSockets '
    "(`/ws/visitor`, `/ws/agent`) are described in docs/protocol.md."
)
ERROR_REF = {"$ref": "#/components/schemas/Error"}


def openapi_path(path: str) -> str:
    """A Starlette path as an OpenAPI path template: ``{id:str}`` becomes ``{id}``."""
    return re.sub(r"{(\w+):\w+}", r"{\1}", path)


def described(routes: Iterable[BaseRoute]) -> list[tuple[str, Operation]]:
    """Every operation of ``routes`` with its OpenAPI path, in the order routed."""
    return [
        (openapi_path(route.path), op)
        for route in routes
        if isinstance(route, Described)
        for op in route.operations
    ]


def document(routes: Iterable[BaseRoute]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operation of ``routes``."""
    paths: dict[str, dict[str, Any]] = {}
    for path, op in described(routes):
        paths.setdefault(path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": __version__, "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "securitySchemes": {
                SECURITY: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a staff token (`parley agents add NAME --role ROLE`)",
                }
            },
            "schemas": {"Error": shapes.ERROR},
        },
    }


def _parameter(name: str, where: str, reader: Reader) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": reader.schema()}


def error_codes(op: Operation) -> dict[int, list[str]]:
    """The error codes ``op`` may answer, by HTTP status, in the order its checks run."""
    classes: list[type[ParleyError]] = []
    if op.roles is not None:
        classes += [Unauthorized, Forbidden]
    if op.strict or op.path:
        classes.append(BadRequest)
    if op.body is not None:
        classes += [BadJson, BadRequest]
    classes += op.errors
    if op.strict:
        classes.append(StoreUnavailable)
    by_status: dict[int, list[str]] = {}
    for cls in classes:
        code, status = CODES[cls]
        if code not in by_status.setdefault(status, []):
            by_status[status].append(code)
    if op.path and HTTP_CODES[404] not in by_status.setdefault(404, []):
        # A path segment that decodes to a slash reaches no route.
        by_status[404].append(HTTP_CODES[404])
    return dict(sorted(by_status.items()))


def _error(status: int, codes: list[str]) -> dict[str, Any]:
    schema = {
        **ERROR_REF,
        "properties": {"error": {"properties": {"code": {"enum": codes}}}},
    }
    answer: dict[str, Any] = {
        "description": ", ".join(codes),
        "content": {JSON: {"schema": schema}},
    }
    if status == 401:
        answer["headers"] = {"WWW-Authenticate": {"schema": {"const": "Bearer"}}}
    return answer


def _success(op: Operation) -> dict[str, Any]:
    content = {
        media: {} if schema is None else {"schema": schema} for media, schema in op.answers.items()
    }
    answer: dict[str, Any] = {"description": "OK", "content": content}
    if op.headers:
        answer["headers"] = {
            name: {"description": said, "schema": {"type": "string"}}
            for name, said in op.headers.items()
        }
    return answer


def _operation(op: Operation) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": [op.handler.__module__.rsplit(".", 1)[-1]],
    }
    description = op.description
    if op.roles is not None:
        roles = ", ".join(sorted(r.value for r in op.roles))
        description = f"Roles: {roles}.\n\n{description}".strip()
        described["security"] = [{SECURITY: []}]
        described["x-roles"] = sorted(r.value for r in op.roles)
    if description:
        described["description"] = description
    parameters = [_parameter(n, "path", r) for n, r in op.path.items()]
    parameters += [_parameter(n, "query", r) for n, r in op.query.items()]
    if parameters:
        described["parameters"] = parameters
    if op.body is not None:
        described["requestBody"] = {
            "required": True,
            "content": {JSON: {"schema": op.body.schema}},
        }
    responses: dict[str, Any] = {"200": _success(op)}
    responses |= {str(status): {"description": said} for status, said in op.statuses.items()}
    responses |= {str(s): _error(s, codes) for s, codes in error_codes(op).items()}
    described["responses"] = responses
    return described


@operation(answers={JSON: {"type": "object", "required": ["openapi", "paths"]}})
async def openapi_description(request: Request, args: Args) -> dict[str, Any]:
    """This description: OpenAPI 3.1, generated from the routes the server serves."""
    return document(request.app.routes)


ROUTE = Described("/openapi.json", openapi_description)
