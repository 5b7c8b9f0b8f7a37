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
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.domain.widget import WidgetBuild
from parley.errors import WidgetBuildNotFound
from parley.web.api import json_endpoint

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


def routes(widget_dir: Path, widget: WidgetBuild) -> list[BaseRoute]:
    def file(name: str, media_type: str | None = None) -> Route:
        async def serve(request: Request) -> Response:
            return FileResponse(widget_dir / name, media_type=media_type, headers=PAGE_HEADERS)

        return Route("/" + name if name != "demo.html" else "/", serve)

    async def current(request: Request) -> Response:
        return widget_response(request, widget, REVALIDATE)

    @json_endpoint
    async def pinned(request: Request) -> Response:
        if request.path_params["digest"] != widget.sha256:
            raise WidgetBuildNotFound(
                "this server serves no widget build with this SHA-256; "
                f"its current build is at {widget.path}"
            )
        return widget_response(request, widget, FOREVER)

    return [
        file("demo.html"),
        Route("/widget.js", current),
        Route("/widget/{digest:str}.js", pinned),
        file("demo.css", "text/css"),
        Mount("/console", SecureHeaders(StaticFiles(directory=widget_dir / "console", html=True))),
    ]


class SecureHeaders:
    """Adds :data:`PAGE_HEADERS` to every response of the wrapped app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.lower().encode(), v.encode()) for k, v in PAGE_HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
