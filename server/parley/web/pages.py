"""The widget script, the demo page and the agent console, served as static files.

Pages get a strict Content-Security-Policy: scripts, styles and connections
only from this server, so even a rendering bug cannot load or run foreign code.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def routes(widget_dir: Path) -> list[BaseRoute]:
    def file(name: str, media_type: str | None = None) -> Route:
        async def serve(request: Request) -> Response:
            return FileResponse(widget_dir / name, media_type=media_type, headers=PAGE_HEADERS)

        return Route("/" + name if name != "demo.html" else "/", serve)

    return [
        file("demo.html"),
        file("widget.js", "text/javascript"),
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
