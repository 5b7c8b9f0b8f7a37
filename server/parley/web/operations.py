"""Each HTTP endpoint declared once: what it takes, who may call it, what it answers.

An endpoint is an :class:`Operation`, made by the :func:`operation` decorator
from its handler and a declaration: the method, the staff roles it needs (none:
public), each query and path parameter with its reader
(:mod:`parley.web.params`; a listing declares ``limit`` and ``cursor``), the JSON Schema of
its body (the validator it is checked with), the media types and schemas of its
success, and the errors it may answer. A :class:`Described` route serves the
operations of one path. At run time the operation reads the request from the
declaration, in this order, before its handler runs:

1. the bearer token, against the roles (401 ``unauthorized``, 403 ``forbidden``);
2. the query: a parameter not declared, or given twice, is 400 ``bad_request``;
3. the path parameters, then the query parameters, each through its reader, in the
   order declared;
4. the ``cursor`` of a listing, against its path and filters (:func:`parley.web.params.paging`);
5. the body, against its schema (400 ``bad_json`` or ``bad_request``).

The OpenAPI document (:mod:`parley.web.openapi`) is generated from the same
declarations, so it lists exactly the parameters the server reads.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from parley import logs, metrics
from parley.domain.agent import Staff, StaffRole
from parley.errors import BadRequest, ParleyError, Unauthorized
from parley.protocol.codec import parse
from parley.protocol.errors import code_of, error_body, is_fault
from parley.service.core import Core
from parley.web.cursors import Cursors
from parley.web.errors import fault
from parley.web.params import Paging, Reader, paging, query_of

JSON = "application/json"
#: What an endpoint answers when its declaration names nothing else: a JSON object.
OBJECT: Mapping[str, Any] = {JSON: {"type": "object"}}

RequestHandler = Callable[[Request], Awaitable[Any]]


def core_of(request: Request) -> Core:
    core: Core = request.app.state.core
    return core


def cursors_of(request: Request) -> Cursors:
    cursors: Cursors = request.app.state.cursors
    return cursors


def json_endpoint(handler: RequestHandler) -> Callable[[Request], Awaitable[Response]]:
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


async def json_body(request: Request, schema: Any) -> dict[str, Any]:
    """The request's JSON body, valid against ``schema``; BadJson or BadRequest otherwise.

    Parsed as strictly as WebSocket frames, with the same limits: UTF-8 only, no lone
    surrogates, no NaN, nesting and numbers bounded (:func:`parley.protocol.codec.parse`).
    """
    body = parse(await request.body())
    errors = sorted(schema.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        raise BadRequest(f"{errors[0].json_path}: {errors[0].message}")
    result: dict[str, Any] = body
    return result


@dataclass(frozen=True)
class Args:
    """What an operation read from its request, by the names its declaration gives.

    Reading a name the declaration does not give is a KeyError: a fault of the
    server, never a parameter read without being described."""

    values: Mapping[str, object]
    staff_member: Staff | None = None
    page: Paging | None = None
    body: Mapping[str, Any] = field(default_factory=dict)

    def text(self, name: str) -> str | None:
        value = self.values[name]
        assert value is None or isinstance(value, str)
        return value

    def path(self, name: str) -> str:
        """A path parameter read as a segment."""
        value = self.values[name]
        assert isinstance(value, str)
        return value

    def choice(self, name: str) -> str:
        return self.path(name)

    def whole(self, name: str) -> int | None:
        value = self.values[name]
        assert value is None or isinstance(value, int)
        return value

    def flag(self, name: str) -> bool:
        return self.choice(name) == "true"

    @property
    def staff(self) -> Staff:
        assert self.staff_member is not None, "a public operation has no staff member"
        return self.staff_member

    @property
    def paging(self) -> Paging:
        assert self.page is not None, "only a paged operation has paging"
        return self.page


Handler = Callable[[Request, Args], Awaitable[Any]]


@dataclass(frozen=True)
class Operation:
    """One method of one path: its declaration, and the handler that answers it."""

    method: str
    handler: Handler
    roles: frozenset[StaffRole] | None
    query: Mapping[str, Reader]
    path: Mapping[str, Reader]
    body: Any
    answers: Mapping[str, Any]
    errors: tuple[type[ParleyError], ...]
    #: Response headers of a success, by name: what each says.
    headers: Mapping[str, str]
    #: Other statuses it answers without a body (a 304), by status: when.
    statuses: Mapping[int, str]
    #: False for pages and files, which ignore any query: a page may be linked with one.
    strict: bool

    @property
    def name(self) -> str:
        return self.handler.__name__

    @property
    def summary(self) -> str:
        """The docstring's first paragraph, in Markdown."""
        return self._paragraphs()[0]

    @property
    def description(self) -> str:
        """The docstring's other paragraphs, in Markdown."""
        return "\n\n".join(self._paragraphs()[1:])

    def _paragraphs(self) -> list[str]:
        # Docstrings mark code as reStructuredText does; OpenAPI readers expect Markdown.
        text = (self.handler.__doc__ or "").strip().replace("``", "`")
        return [" ".join(line.strip() for line in p.splitlines()) for p in text.split("\n\n")]

    @property
    def paged(self) -> bool:
        return "cursor" in self.query

    async def respond(self, request: Request) -> Response:
        return await json_endpoint(self._run)(request)

    async def _run(self, request: Request) -> Any:
        staff = None if self.roles is None else await staff_of(request, self.roles)
        query = query_of(request, self.query) if self.strict else {}
        values = {n: r.read(n, request.path_params[n]) for n, r in self.path.items()}
        values |= {n: r.read(n, query.get(n)) for n, r in self.query.items()}
        page = paging(request, query, cursors_of(request)) if self.paged else None
        body = {} if self.body is None else await json_body(request, self.body)
        return await self.handler(request, Args(values, staff, page, body))


def operation(
    method: str = "GET",
    *,
    roles: frozenset[StaffRole] | None = None,
    query: Mapping[str, Reader] | None = None,
    path: Mapping[str, Reader] | None = None,
    body: Any = None,
    answers: Mapping[str, Any] = OBJECT,
    errors: tuple[type[ParleyError], ...] = (),
    headers: Mapping[str, str] | None = None,
    statuses: Mapping[int, str] | None = None,
    strict: bool = True,
) -> Callable[[Handler], Operation]:
    """Declare an endpoint (see the module's docstring); its handler's docstring is its
    summary (first paragraph) and description (the rest). ``body``: the validator of its
    JSON body (:func:`parley.schemas.validator`), whose schema the description shows."""

    def declare(handler: Handler) -> Operation:
        return Operation(
            method, handler, roles, query or {}, path or {}, body, answers, errors,
            headers or {}, statuses or {}, strict,
        )  # fmt: skip

    return declare


class Described(Route):
    """A route whose every method is an :class:`Operation`.

    Raises ValueError when an operation's declared path parameters are not exactly
    those of the path, or two operations share a method."""

    def __init__(self, path: str, *operations: Operation) -> None:
        by_method = {op.method: op for op in operations}
        if len(by_method) != len(operations):
            raise ValueError(f"{path}: two operations share a method")

        async def endpoint(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            return await by_method[method].respond(request)

        super().__init__(path, endpoint, methods=list(by_method))
        self.operations = operations
        for op in operations:
            if set(op.path) != set(self.param_convertors):
                raise ValueError(f"{op.method} {path} declares path parameters {list(op.path)}")
