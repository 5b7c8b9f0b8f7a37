"""The widget script, the demo page and the agent console, served as static files.

Every file is read once at start-up and served from memory, compressed (brotli, gzip) as the
request accepts, with an ``ETag`` per encoding (:mod:`parley.web.assets`). Pages get a strict
Content-Security-Policy: scripts, styles and connections only from this server, so even a
rendering bug cannot load or run foreign code.

The widget is the build read at start-up (:mod:`parley.domain.widget`): at ``/widget.js``,
revalidated on every use (``Cache-Control: no-cache``), and at its content address
``/widget/<sha256 hex>.js``, cached for good. Any site may load it, also with
``crossorigin="anonymous"`` for Subresource Integrity (CORS and CORP allow it). The demo page
and the console have unversioned names, so they are revalidated on every use too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from parley.domain.widget import WidgetBuild
from parley.errors import WidgetBuildNotFound
from parley.web import assets
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
    """The routes of the static files of ``widget_dir``, all read (and compressed) now;
    raise ValueError naming a page file or the console folder that cannot be read."""
    script = assets.encoded(widget.body, assets.MEDIA_TYPES[".js"])
    demo = assets.read_file(widget_dir / "demo.html")
    css = assets.read_file(widget_dir / "demo.css")
    console = assets.read_folder(widget_dir / "console")

    @json_endpoint
    async def current(request: Request) -> Response:
        return assets.respond(request, script, REVALIDATE, WIDGET_HEADERS)

    @json_endpoint
    async def pinned(request: Request) -> Response:
        if request.path_params["digest"] != widget.sha256:
            raise WidgetBuildNotFound(
                "this server serves no widget build with this SHA-256; "
                f"its current build is at {widget.path}"
            )
        return assets.respond(request, script, FOREVER, WIDGET_HEADERS)

    def page(asset: assets.Asset) -> Callable[[Request], Awaitable[Response]]:
        @json_endpoint
        async def serve(request: Request) -> Response:
            return assets.respond(request, asset, REVALIDATE, PAGE_HEADERS)

        return serve

    @json_endpoint
    async def console_file(request: Request) -> Response:
        name = request.path_params["file"] or "index.html"
        if name not in console:
            raise HTTPException(404, "the console has no such file")
        return assets.respond(request, console[name], REVALIDATE, PAGE_HEADERS)

    return [
        Route("/", page(demo)),
        Route("/widget.js", current),
        Route("/widget/{digest:str}.js", pinned),
        Route("/demo.css", page(css)),
        Route("/console/{file:path}", console_file),
    ]
