"""The visitor and agent WebSocket endpoints.

Both share one loop: refuse disallowed origins before the upgrade, decode each
text frame with the endpoint's codec, let the session act, and answer every error
with a typed error frame (a fault of the server's with a fixed text and an error id).
Close codes:

* 1003 — a binary frame (the protocol is JSON text).
* 1007 — a text frame that is not UTF-8 (enforced by :mod:`parley.web.transport`).
* 1008 — an agent's token is refused or revoked (after an ``unauthorized``/``forbidden`` frame).
* 1009 — a frame over the byte limit (enforced by the WebSocket layer).
* 1011 — an unexpected server fault (after an ``internal`` error frame).
* 1013 — the client reads too slowly: a frame waited ``send_timeout`` seconds for it, or
  ``max_pending_frames`` bus messages did, or it left a keepalive ping unanswered;
  reconnect and resume. Ephemeral frames (presence, typing, read state) never count towards
  a 1013: a full inbox sheds them first.

A client too stalled to take even the close frame is reset (see
:mod:`parley.web.transport`); either way the reader then ends the session.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from typing import Any

from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from parley import logs, metrics
from parley.bus.messages import EventAdded, Message, is_ephemeral
from parley.config import Settings
from parley.errors import AuthError, ParleyError, StoreUnavailable
from parley.protocol.codec import Codec, Endpoint, encode, parse, request_context
from parley.protocol.errors import error_frame, fault_frame, is_fault
from parley.service import AgentSession, Core, VisitorSession
from parley.service.core import new_id
from parley.service.session import Session
from parley.web import connection_log
from parley.web.clientip import client_ip
from parley.web.transport import ABORT, CLOSE_TIMEOUT

log = logging.getLogger("parley.web")

CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013


class Ephemeral(str):
    """An encoded frame that may be dropped (presence): never stored, never worth a 1013."""


class Connection:
    """One accepted WebSocket: a send lock, and bus messages relayed to its session in order.

    Bus messages, and frames the lobby encoded once for every console
    (:meth:`push`), wait in one inbox that a pump task drains; the task exists
    only while something is waiting, so an idle connection costs no task (at
    10,000 idle visitors per process, that is memory worth keeping). Whatever
    waits counts towards the limit past which a slow client is closed (1013), except
    typing and read signals: a full inbox sheds those first (:meth:`_make_room`).

    ``role`` (visitor or agent) labels its metrics (:mod:`parley.metrics`).
    """

    def __init__(
        self, ws: WebSocket, core: Core, max_pending: int, send_timeout: float, role: str
    ) -> None:
        self.ws = ws
        self.core = core
        self.role = role
        self.max_pending = max_pending
        self.send_timeout = send_timeout
        self._inbox: collections.deque[tuple[str, Message] | str] = collections.deque()
        self._overflowed = False
        self._session: Session | None = None
        self._pump: asyncio.Task[None] | None = None
        self._closing: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()
        #: The type of the frame being handled, and when it was received.
        self._received: tuple[str, float] = ("", 0.0)
        #: The pump runs in whichever context delivered a bus message: it logs under these.
        self._ids = logs.current()

    @property
    def queued(self) -> int:
        """Frames waiting to be sent (the outbound-queue metrics)."""
        return len(self._inbox)

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one frame within the send timeout (see :meth:`send_text`)."""
        await self.send_text(encode(frame))
        metrics.frame_sent(self.role, frame["type"])
        if frame["type"] == "ack" and self._received[0] == "message" and self.role == "visitor":
            metrics.ACK_LATENCY.observe(time.perf_counter() - self._received[1])

    async def send_text(self, text: str) -> None:
        """Send one frame already encoded, within the send timeout.

        Raises WebSocketDisconnect if the client has gone, or if it did not take the
        frame in time: it is then closed with 1013 (or reset).
        """
        try:
            async with asyncio.timeout(self.send_timeout), self._send_lock:
                await self.ws.send_text(text)
        except TimeoutError:
            log.warning("closing a connection that took no frame for %g s", self.send_timeout)
            await self._close(CLOSE_TRY_AGAIN, "too slow; reconnect and resume")
            raise WebSocketDisconnect(CLOSE_TRY_AGAIN) from None
        except RuntimeError as e:  # Starlette's "close message has been sent"
            raise WebSocketDisconnect(1006) from e

    def subscribe(self, topic: str) -> Any:
        return self.core.bus.subscribe(topic, self._deliver)

    def push(self, text: str) -> bool:
        """Queue a frame already encoded behind what waits, without waiting for it to go.

        False if this connection takes no more: it fell too far behind and is being
        closed (1013). A client that has gone is noticed by the reader, which ends
        the session.
        """
        if self._overflowed:
            return False
        self._enqueue(text)
        return not self._overflowed

    def push_ephemeral(self, text: str) -> bool:
        """Queue an ephemeral frame (presence) only if there is room: it is dropped, never
        the reason a connection is closed; and it is the first thing dropped when the inbox fills.
        """
        if self._overflowed or len(self._inbox) >= self.max_pending:
            return False
        self._enqueue(Ephemeral(text))
        return True

    def _deliver(self, topic: str, message: Message) -> None:
        if not self._overflowed:
            self._enqueue((topic, message))

    def _enqueue(self, item: tuple[str, Message] | str) -> None:
        if len(self._inbox) >= self.max_pending and not self._make_room(item):
            return
        if len(self._inbox) >= self.max_pending:
            # Close at once: the pump may be stuck sending to this client, and would only
            # add to what it cannot read.
            self._overflowed = True
            self._inbox.clear()
            if self._pump is not None:
                self._pump.cancel()
            # Logged as this connection's, not that of the sender whose message it could not take.
            with logs.bound(self._ids):
                log.warning("closing a connection that fell %d frames behind", self.max_pending)
            self._start_close(CLOSE_TRY_AGAIN, "too slow; reconnect and resume")
            return
        self._inbox.append(item)
        if self._pump is None and self._session is not None:
            self._pump = asyncio.create_task(self._drain(self._session))

    def _make_room(self, item: tuple[str, Message] | str) -> bool:
        """Shed ephemeral signals from a full inbox, first the one arriving; False if it went.

        Presence, typing and read state are dropped silently under load: they are never
        the reason a slow client is closed (1013), and what is acknowledged is never shed.
        """
        if _is_ephemeral(item):
            return False
        kept = [waiting for waiting in self._inbox if not _is_ephemeral(waiting)]
        if len(kept) < len(self._inbox):
            shed = len(self._inbox) - len(kept)
            with logs.bound(self._ids):
                log.warning("dropped %d presence, typing and read frames for a slow client", shed)
            self._inbox = collections.deque(kept)
        return True

    async def _drain(self, session: Session) -> None:
        try:
            with logs.bound(self._ids):
                await self._relay_waiting(session)
        finally:
            self._pump = None

    async def _relay_waiting(self, session: Session) -> None:
        try:
            while self._inbox:
                item = self._inbox.popleft()
                if isinstance(item, str):
                    await self.send_text(item)
                    metrics.frame_sent(self.role, _type_of(item))
                else:
                    await self._relay(session, *item)
        except WebSocketDisconnect:
            return  # the client left while we were relaying; the reader ends the session
        except AuthError as e:
            # The credentials behind this socket stopped being valid (a revoked token).
            with contextlib.suppress(WebSocketDisconnect):
                await self.send(error_frame(e))
            await self._close(CLOSE_POLICY)
        except Exception as e:
            with contextlib.suppress(WebSocketDisconnect):
                await self.answer(e)
            await self._close(CLOSE_INTERNAL)

    async def _relay(self, session: Session, topic: str, message: Message) -> None:
        """Hand one bus message to the session, waiting out a store that is briefly away.

        A gap fill may need the store; while it is unavailable the same message is
        retried (nothing was sent, the feed did not move), so no event is skipped.
        """
        delay = 0.1
        while True:
            try:
                await session.on_bus(topic, message)
                if self.role == "agent" and isinstance(message, EventAdded):
                    event = message.event
                    if event["type"] == "message" and event["author"]["role"] == "visitor":
                        metrics.relayed(event["at"])
                return
            except StoreUnavailable as e:
                log.warning("store unavailable while relaying (%s); retrying in %.1f s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def serve(self, session: VisitorSession | AgentSession, codec: Codec) -> None:
        self._session = session
        metrics.CONNECTIONS.labels(self.role).inc()
        metrics.SOCKETS.add(self)
        try:
            await self._read(session, codec)
        except WebSocketDisconnect:
            pass
        except Exception as e:
            with contextlib.suppress(WebSocketDisconnect):
                await self.answer(e)
            await self._close(CLOSE_INTERNAL)
        finally:
            metrics.SOCKETS.discard(self)
            metrics.CONNECTIONS.labels(self.role).dec()
            session.close()  # no more bus messages: no new pump
            if (pump := self._pump) is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump
            if self._closing is not None:
                await self._closing

    async def _read(self, session: VisitorSession | AgentSession, codec: Codec) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if self.ws.application_state is WebSocketState.DISCONNECTED:
                return  # closing: what the client sent meanwhile is not acted on
            if message.get("text") is None:
                metrics.frame_received(self.role, "invalid")
                await self._close(CLOSE_UNSUPPORTED, "binary frames are not supported")
                return
            frame: dict[str, Any] | None = None
            checked: dict[str, Any] | None = None
            try:
                frame = parse(message["text"])
                connection_log.reading(frame)
                checked = codec.check(frame)
                self._received = (checked["type"], time.perf_counter())
                metrics.frame_received(self.role, checked["type"])
                await session.handle(checked)
                connection_log.handled(session, codec.endpoint, checked["type"])
            except WebSocketDisconnect:
                raise
            except Exception as e:
                if checked is None:
                    metrics.frame_received(self.role, "invalid")
                await self.answer(e, request_context(frame))
                if not isinstance(e, ParleyError):
                    await self._close(CLOSE_INTERNAL)
                    return
                if isinstance(e, AuthError) and codec.endpoint is Endpoint.AGENT:
                    await self._close(CLOSE_POLICY)
                    return

    async def answer(self, error: Exception, context: dict[str, str] | None = None) -> None:
        """Tell the client of ``error``, naming the frame it answers by ``context``.

        A fault of the server's (an unavailable store, an unexpected exception) is
        logged with its detail under a new error id; the client gets a fixed text
        and that id, never the detail.
        """
        if isinstance(error, ParleyError) and not is_fault(error):
            frame = error_frame(error, **(context or {}))
            metrics.error("websocket", frame["code"])
            connection_log.answered(frame["code"])
            await self.send(frame)
            return
        error_id = new_id("e")
        frame = fault_frame(error, error_id, **(context or {}))
        extra = {"error_id": error_id}
        if isinstance(error, ParleyError):
            log.warning("error %s (%s): %s", error_id, frame["code"], error, extra=extra)
        else:
            log.error(
                "error %s (%s): unexpected", error_id, frame["code"], exc_info=error, extra=extra
            )
        metrics.error("websocket", frame["code"])
        await self.send(frame)

    async def _close(self, code: int, reason: str = "") -> None:
        """Close with ``code``, or wait for the close already under way.

        The close goes on even if the caller is cancelled (a pump that a shed cancels),
        so a connection is never left half closed.
        """
        await asyncio.shield(self._start_close(code, reason))

    def _start_close(self, code: int, reason: str) -> asyncio.Task[None]:
        if self._closing is None:
            self._closing = asyncio.create_task(self._close_or_reset(code, reason))
        return self._closing

    async def _close_or_reset(self, code: int, reason: str) -> None:
        """Send the close frame; reset the connection if even that cannot be sent in time."""
        if self.ws.application_state is WebSocketState.DISCONNECTED:
            return
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.ws.close(code, reason)
        except TimeoutError:
            log.warning("resetting a connection that took no close frame for %g s", CLOSE_TIMEOUT)
            self.ws.scope["extensions"][ABORT]["abort"]()
        except (RuntimeError, WebSocketDisconnect):
            pass  # the client has gone already


def _type_of(text: str) -> str:
    """The type of an encoded frame: the server writes ``type`` first (``other`` if not)."""
    return text[9 : text.find('"', 9)] if text.startswith('{"type":"') else "other"


def _is_ephemeral(item: tuple[str, Message] | str) -> bool:
    """Presence frames, and typing and read signals: dropped before any 1013."""
    if isinstance(item, str):
        return isinstance(item, Ephemeral)
    return is_ephemeral(item[1])


def origin_allowed(conn: HTTPConnection, settings: Settings) -> bool:
    """Browsers always send Origin; a client without one is not a browser page."""
    origin = conn.headers.get("origin")
    return origin is None or "*" in settings.origins or origin.rstrip("/") in settings.origins


async def _accept(ws: WebSocket, role: str) -> tuple[Connection, Settings] | None:
    """Refuse a disallowed origin before the upgrade (HTTP 403); otherwise accept."""
    settings: Settings = ws.app.state.settings
    if not origin_allowed(ws, settings):
        await ws.close(CLOSE_POLICY)
        return None
    await ws.accept()
    connection = Connection(
        ws, ws.app.state.core, settings.max_pending_frames, settings.send_timeout, role
    )
    return connection, settings


async def visitor_endpoint(ws: WebSocket) -> None:
    accepted = await _accept(ws, "visitor")
    if accepted is None:
        return
    conn, settings = accepted
    peer = ws.client.host if ws.client else None
    session = VisitorSession(
        conn.core,
        conn.send,
        conn.subscribe,
        ip=client_ip(peer, ws.headers.get("x-forwarded-for"), settings.trusted_proxies),
        user_agent=ws.headers.get("user-agent"),
        accept_language=ws.headers.get("accept-language"),
        ephemeral=conn.push_ephemeral,
    )
    await conn.serve(session, Codec(Endpoint.VISITOR, settings.max_message_chars))


async def agent_endpoint(ws: WebSocket) -> None:
    accepted = await _accept(ws, "agent")
    if accepted is None:
        return
    conn, settings = accepted
    session = AgentSession(
        conn.core, conn.send, conn.subscribe, conn.push, ephemeral=conn.push_ephemeral
    )
    await conn.serve(session, Codec(Endpoint.AGENT, settings.max_message_chars))
