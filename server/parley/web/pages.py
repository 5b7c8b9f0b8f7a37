"""The widget script, the demo page and the agent console, served as static files.

Pages get a strict Content-Security-Policy: scripts, styles and connections
only from this server, so even a rendering bug cannot load or run foreign code.

The widget is the build read at start-up (:mod:`parley.domain.widget`), served from
memory: at ``/widget.js``, revalidated on every use (``ETag``, ``Cache-Control: no-cache``),
and at its content address ``/widget/<sha256 hex>.js``, cached for good. Any site may load
it, also with ``crossorigin="anonymous"`` for Subresource Integrity (CORS and CORP allow it).
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute
from starlette.staticfiles import StaticFiles

from parley.domain.widget import WidgetBuild
from parley.errors import WidgetBuildNotFound
from parley.web.operations import Args, Described, Operation, operation
from parley.web.params import Segment

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


#: The widget is embedded by other sites' pages, also as a CORS request (for SRI).
WIDGET_HEADERS = {
    **PAGE_HEADERS,
    "Access-Control-Allow-Origin": "*",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
REVALIDATE = "no-cache"
FOREVER = "public, max-age=31536000, immutable"
#: How the description names the headers of the widget's answers.
WIDGET_DOCS = {
    "ETag": "the build's SHA-256, hex, quoted",
    "Cache-Control": "no-cache at /widget.js; immutable for a year at its content address",
    "Repr-Digest": "RFC 9530 sha-256 of the body",
}
NOT_MODIFIED = {304: "the client's copy (If-None-Match) is this build"}


def page(name: str, media_type: str, summary: str, widget_dir: Path) -> Operation:
    """A file of the widget folder, served with :data:`PAGE_HEADERS`."""

    async def serve(request: Request, args: Args) -> Response:
        return FileResponse(widget_dir / name, media_type=media_type, headers=PAGE_HEADERS)

    serve.__name__ = name.replace(".", "_")
    serve.__doc__ = summary
    return operation(answers={media_type: None}, strict=False)(serve)


def routes(widget_dir: Path, widget: WidgetBuild) -> list[BaseRoute]:
    console = StaticFiles(directory=widget_dir / "console", html=True)

    @operation(
        answers={"text/javascript": None}, headers=WIDGET_DOCS, statuses=NOT_MODIFIED, strict=False
    )
    async def current_widget(request: Request, args: Args) -> Response:
        """The widget script, revalidated before each use."""
        return widget_response(request, widget, REVALIDATE)

    @operation(
        path={"digest": Segment()},
        answers={"text/javascript": None},
        headers=WIDGET_DOCS,
        statuses=NOT_MODIFIED,
        errors=(WidgetBuildNotFound,),
        strict=False,
    )
    async def pinned_widget(request: Request, args: Args) -> Response:
        """The widget script at its content address (its SHA-256, hex), cached for good.

        Only the current build is served; any other digest is 404."""
        if args.path("digest") != widget.sha256:
            raise WidgetBuildNotFound(
                "this server serves no widget build with this SHA-256; "
                f"its current build is at {widget.path}"
            )
        return widget_response(request, widget, FOREVER)

    @operation(answers={"text/html": None}, strict=False)
    async def agent_console(request: Request, args: Args) -> Response:
        """The agent console."""
        return await console_file(request, console, ".")

    @operation(path={"file": Segment()}, answers={"*/*": None}, strict=False)
    async def console_asset(request: Request, args: Args) -> Response:
        """A script, style sheet or page of the agent console; 404 for any other name."""
        return await console_file(request, console, args.path("file"))

    return [
        Described(
            "/", page("demo.html", "text/html", "The demo site, with the widget.", widget_dir)
        ),
        Described("/widget.js", current_widget),
        Described("/widget/{digest:str}.js", pinned_widget),
        Described(
            "/demo.css", page("demo.css", "text/css", "The demo site's style sheet.", widget_dir)
        ),
        Described("/console/", agent_console),
        Described("/console/{file:str}", console_asset),
    ]


async def console_file(request: Request, console: StaticFiles, name: str) -> Response:
    """A file of the console folder (``.``: its index page), with :data:`PAGE_HEADERS`; an
    HTTPException (answered by :func:`parley.web.errors.routing`) if there is none."""
    response = await console.get_response(name, request.scope)
    response.headers.update(PAGE_HEADERS)
    return response


def widget_response(request: Request, widget: WidgetBuild, cache_control: str) -> Response:
    """The build's exact bytes, or 304 when the client's copy is this build."""
    etag = f'"{widget.sha256}"'
    headers = {**WIDGET_HEADERS, "ETag": etag, "Cache-Control": cache_control}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    headers["Repr-Digest"] = widget.repr_digest
    return Response(widget.body, media_type="text/javascript", headers=headers)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 §13.1.2: ``*``, or any listed tag equal to ``etag`` by weak comparison."""
    if if_none_match is None:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in (t.removeprefix("W/") for t in tags)
