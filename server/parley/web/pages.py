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

from collections.abc import Callable
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from parley.domain.widget import WidgetBuild
from parley.errors import NotAcceptable, ParleyError, WidgetBuildNotFound
from parley.web import assets
from parley.web.operations import Args, Described, Handler, Operation, operation
from parley.web.params import Reader, Segment

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
#: How the description names the headers of a static file's answers.
FILE_DOCS = {
    "ETag": "SHA-256 (hex, quoted) of the bytes sent: one tag per encoding",
    "Cache-Control": "no-cache, but immutable for a year for the widget at its content address",
    "Repr-Digest": "RFC 9530 sha-256 of the bytes sent (the encoded representation)",
}
NOT_MODIFIED = {304: "the client's copy (If-None-Match) is the one it would get"}


def served(
    media_type: str,
    errors: tuple[type[ParleyError], ...] = (),
    path: dict[str, Reader] | None = None,
) -> Callable[[Handler], Operation]:
    """The declaration of a static file: any query ignored (a page may be linked with one),
    a 304 when the client holds it, 406 when Accept-Encoding refuses every encoding."""
    return operation(
        path=path,
        answers={media_type: None},
        headers=FILE_DOCS,
        statuses=NOT_MODIFIED,
        errors=(*errors, NotAcceptable),
        strict=False,
    )


def page(asset: assets.Asset, name: str, summary: str) -> Operation:
    """A page of the widget folder, served with :data:`PAGE_HEADERS`."""

    async def serve(request: Request, args: Args) -> Response:
        return assets.respond(request, asset, REVALIDATE, PAGE_HEADERS)

    serve.__name__ = name.replace(".", "_")
    serve.__doc__ = summary
    return served(asset.media_type)(serve)


def routes(widget_dir: Path, widget: WidgetBuild) -> list[BaseRoute]:
    """The routes of the static files of ``widget_dir``, all read (and compressed) now;
    raise ValueError naming a page file or the console folder that cannot be read."""
    script = assets.encoded(widget.body, assets.MEDIA_TYPES[".js"])
    demo = assets.read_file(widget_dir / "demo.html")
    css = assets.read_file(widget_dir / "demo.css")
    console = assets.read_folder(widget_dir / "console")

    @served("text/javascript")
    async def current_widget(request: Request, args: Args) -> Response:
        """The widget script, revalidated before each use."""
        return assets.respond(request, script, REVALIDATE, WIDGET_HEADERS)

    @served("text/javascript", (WidgetBuildNotFound,), {"digest": Segment()})
    async def pinned_widget(request: Request, args: Args) -> Response:
        """The widget script at its content address (its SHA-256, hex), cached for good.

        Only the current build is served; any other digest is 404."""
        if args.path("digest") != widget.sha256:
            raise WidgetBuildNotFound(
                "this server serves no widget build with this SHA-256; "
                f"its current build is at {widget.path}"
            )
        return assets.respond(request, script, FOREVER, WIDGET_HEADERS)

    @served("*/*", path={"file": Segment()})
    async def console_asset(request: Request, args: Args) -> Response:
        """A script, style sheet or page of the agent console; 404 for any other name."""
        name = args.path("file")
        if name not in console:
            raise HTTPException(404, "the console has no such file")
        return assets.respond(request, console[name], REVALIDATE, PAGE_HEADERS)

    return [
        Described("/", page(demo, "demo.html", "The demo site, with the widget.")),
        Described("/widget.js", current_widget),
        Described("/widget/{digest:str}.js", pinned_widget),
        Described("/demo.css", page(css, "demo.css", "The demo site's style sheet.")),
        Described("/console/", page(console["index.html"], "console", "The agent console.")),
        Described("/console/{file:str}", console_asset),
    ]
