"""The Starlette edge: WebSockets, the HTTP API, static files."""
