"""The Starlette application: routes, and the lifespan that publishes policies."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from parley import policy_files
from parley.bus import MemoryBus
from parley.config import Settings
from parley.errors import PolicyConflict
from parley.protocol.errors import http_error_body
from parley.service.core import Core
from parley.store import open_store
from parley.web import api, pages
from parley.web.sockets import agent_endpoint, visitor_endpoint


async def start_core(settings: Settings) -> Core:
    """Open the store and publish every policy file; raise PolicyError on a bad or changed file."""
    versions = policy_files.load_folder(settings.policies_dir)
    store = await open_store(settings.store)
    try:
        core = Core(store, MemoryBus())
        try:
            await core.publish_policies(versions)
        except PolicyConflict as e:
            raise PolicyConflict(f"{settings.policies_dir}: {e}") from None
        core.policy_in_force()
    except BaseException:
        await store.close()
        raise
    return core


async def http_error(request: Request, exc: Exception) -> Response:
    """Routing errors answer in the API's JSON error shape, like every other error."""
    assert isinstance(exc, HTTPException)
    return JSONResponse(
        http_error_body(exc.status_code, exc.detail), exc.status_code, headers=exc.headers
    )


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        core = await start_core(settings)
        app.state.core = core
        try:
            yield
        finally:
            await core.bus.close()
            await core.store.close()

    app = Starlette(
        routes=[
            WebSocketRoute("/ws/visitor", visitor_endpoint),
            WebSocketRoute("/ws/agent", agent_endpoint),
            Route("/healthz", api.health),
            Route("/api/policy", api.policy_in_force),
            Route("/api/compliance/conversations/{id:str}", api.conversation_record),
            Route("/api/compliance/visitors/{visitor_id:str}/acceptances", api.visitor_acceptances),
            Route(
                "/api/compliance/policies/{policy_id:str}/versions/{version:int}/conversations",
                api.policy_conversations,
            ),
            *pages.routes(settings.widget_dir),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: http_error},
    )
    app.state.settings = settings
    return app
