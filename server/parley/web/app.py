"""The Starlette application: routes, and the lifespan that publishes policies."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from parley import keys, metrics, policy_files, widget_files
from parley.bus import open_bus
from parley.config import Settings
from parley.domain.ratelimit import Limiter
from parley.domain.widget import WidgetBuild
from parley.errors import PolicyConflict
from parley.service import abandon, retention, tasks
from parley.service.core import Core
from parley.service.webhooks import Dispatcher
from parley.store import open_store
from parley.store.presence import open_presence
from parley.web import (
    admin,
    api,
    canned,
    compliance,
    conversations,
    errors,
    holds,
    log,
    openapi,
    pages,
    requests,
    webhooks,
)
from parley.web import metrics as metrics_page
from parley.web.cursors import Cursors
from parley.web.operations import Described
from parley.web.sockets import agent_endpoint, visitor_endpoint


async def start_core(settings: Settings, widget: WidgetBuild | None = None) -> Core:
    """Open the store and publish every policy file; raise PolicyError on a bad or changed file.

    ``widget``: the build the server serves, which acceptances are weighed against."""
    versions = policy_files.load_folder(settings.policies_dir)
    key, _ = keys.load_or_create(settings.signing_key)
    store = await open_store(settings.store)
    try:
        core = Core(
            store,
            open_bus(settings.store),
            key,
            message_limit=Limiter(settings.messages_per_minute, 60),
            conversation_limit=Limiter(settings.conversations_per_hour, 3600),
            presence_store=open_presence(settings.store),
            typing_interval=settings.typing_interval,
            auto_assign=settings.auto_assign,
            log_origin=settings.log_origin,
            witnesses=settings.witnesses,
            tsa_url=settings.tsa_url,
            tsa_certs=_tsa_certs(settings),
            widget=widget,
        )
        try:
            await core.publish_policies(versions)
        except PolicyConflict as e:
            raise PolicyConflict(f"{settings.policies_dir}: {e}") from None
        core.policy_in_force()
    except BaseException:
        await store.close()
        raise
    return core


def _tsa_certs(settings: Settings) -> tuple[bytes, ...]:
    if settings.tsa_cert is None:
        return ()
    try:
        return (settings.tsa_cert.read_bytes(),)
    except OSError as e:
        raise ValueError(f"PARLEY_TSA_CERT {settings.tsa_cert}: {e.strerror}") from None


SocketEndpoint = Callable[[WebSocket], Awaitable[None]]


class ParleyApp:
    """The ASGI application: WebSockets on their endpoints directly, the rest through Starlette.

    Starlette's error middleware, exception middleware and router each keep a
    coroutine frame suspended for as long as a WebSocket is open — about 10 KiB
    per connection, a third of an idle visitor's footprint (BENCHMARKS.md). For
    WebSockets they add nothing: the endpoints answer every error themselves. So
    the two WebSocket paths skip them; every other request, and a WebSocket on
    any other path, goes through the full Starlette stack.

    Starlette re-raises an HTTP request's unexpected exception after
    :func:`parley.web.errors.fault` has answered it and logged it under an
    error id; it stops here, so the server does not log it a second time without one.

    ``metrics``: the port of the ``PARLEY_METRICS_ADDRESS`` listener (the same server on a
    second socket) and the app that answers everything arriving on it.

    Every request and connection has its ids bound and an access line logged
    (:mod:`parley.web.requests`).
    """

    def __init__(
        self,
        app: Starlette,
        sockets: Mapping[str, SocketEndpoint],
        metrics: tuple[int, Starlette] | None = None,
    ) -> None:
        self.app = app
        self.sockets = sockets
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        app, endpoint = self.app, None
        if self.metrics is not None and _port(scope) == self.metrics[0]:
            app = self.metrics[1]
        elif scope["type"] == "websocket":
            endpoint = self.sockets.get(scope["path"])
        exchange = requests.Exchange(scope, send)
        try:
            if endpoint is None:
                try:
                    await app(scope, receive, exchange.send)
                except Exception:
                    if scope["type"] != "http":
                        raise
                return
            scope["app"] = self.app
            await endpoint(WebSocket(scope, receive, exchange.send))
        finally:
            exchange.done()


def _port(scope: Scope) -> int | None:
    """The local port a request or WebSocket arrived on (None for the lifespan)."""
    server = scope.get("server")
    return server[1] if server else None


def create_app(settings: Settings) -> ParleyApp:
    """The application; raise ValueError if the widget cannot be read or declares no build."""
    widget = widget_files.load_build(settings.widget_dir)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        core = await start_core(settings, widget)
        app.state.core = core
        app.state.settings = settings
        app.state.cursors = Cursors.from_signing_key(core.key)
        await core.bus.start()
        metrics.started()
        await core.lobby.start()
        await core.presence.start()
        background = [
            asyncio.create_task(core.presence.maintain()),
            asyncio.create_task(abandon.abandon_gone(core, settings.abandon_after)),
            asyncio.create_task(tasks.anchor_periodically(core, settings.anchor_interval)),
            asyncio.create_task(tasks.announce_policy_changes(core)),
            asyncio.create_task(tasks.watch_revocations(core)),
            asyncio.create_task(core.store.maintain()),
            asyncio.create_task(core.publisher.run()),
            asyncio.create_task(
                Dispatcher(
                    core.store, settings.webhook_timeout, settings.webhook_retry_base, core.clock
                ).run()
            ),
        ]
        if settings.retention.enabled:
            background.append(
                asyncio.create_task(
                    retention.sweep_periodically(
                        core, settings.retention, settings.retention_interval
                    )
                )
            )
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            core.lobby.close()
            await core.presence.close()
            await core.bus.close()
            await core.store.close()

    sockets = {"/ws/visitor": visitor_endpoint, "/ws/agent": agent_endpoint}
    app = Starlette(
        routes=[
            *(WebSocketRoute(path, endpoint) for path, endpoint in sockets.items()),
            Described("/healthz", api.health),
            Described("/metrics", metrics_page.admin_metrics),
            Described("/api/policy", api.policy_in_force),
            Described("/api/keys", api.signing_key),
            Described("/log/checkpoint", log.latest_checkpoint),
            Described("/log/checkpoint/{size:str}", log.checkpoint_of_size),
            Described("/log/consistency", log.consistency),
            Described("/api/widget/status", api.widget_status),
            Described("/api/widget/build", api.widget_build),
            Described("/api/compliance/conversations/{id:str}", compliance.conversation_record),
            Described(
                "/api/compliance/conversations/{id:str}/evidence", compliance.evidence_bundle
            ),
            Described("/api/compliance/acceptances", compliance.acceptances),
            Described(
                "/api/compliance/visitors/{visitor_id:str}/acceptances",
                compliance.visitor_acceptances,
            ),
            Described(
                "/api/compliance/visitors/{visitor_id:str}/export", compliance.visitor_export
            ),
            Described(
                "/api/compliance/policies/{policy_id:str}/versions/{version:str}/conversations",
                compliance.policy_conversations,
            ),
            Described("/api/compliance/closures", compliance.closures),
            Described("/api/compliance/audit", compliance.audit),
            Described("/api/compliance/holds", holds.holds_listing, holds.place_hold),
            Described("/api/compliance/holds/{id:str}/lift", holds.lift_hold),
            Described("/api/conversations/ended", conversations.ended),
            Described("/api/admin/staff", admin.staff_members, admin.add_staff_member),
            Described("/api/admin/staff/{id:str}/revoke", admin.revoke_staff),
            Described("/api/admin/bans", admin.list_bans),
            Described("/api/admin/bans/{id:str}/lift", admin.lift_ban),
            Described("/api/admin/visitors/{visitor_id:str}/erase", admin.erase_visitor),
            Described("/api/admin/canned", canned.canned_replies, canned.add_canned_reply),
            Described(
                "/api/admin/canned/{id:str}",
                canned.change_canned_reply,
                canned.delete_canned_reply,
            ),
            Described("/api/canned", canned.agent_canned_replies),
            Described("/api/admin/webhooks", webhooks.webhooks_listing, webhooks.add_webhook),
            Described("/api/admin/webhooks/{id:str}", webhooks.delete_webhook),
            Described("/api/admin/webhooks/{id:str}/deliveries", webhooks.deliveries),
            openapi.ROUTE,
            *pages.routes(settings.widget_dir, widget),
        ],
        lifespan=lifespan,
        exception_handlers={HTTPException: errors.routing, Exception: errors.fault},
    )
    app.state.settings = settings
    app.state.widget = widget
    listener = None
    if settings.metrics_address is not None:
        listener = (settings.metrics_address[1], metrics_page.listener_app(app))
    return ParleyApp(app, sockets, listener)
