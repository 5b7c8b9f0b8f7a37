"""The visitor and agent WebSocket endpoints.

Both share one loop: refuse disallowed origins before the upgrade, decode each
text frame with the endpoint's codec, let the session act, and answer every
:class:`~parley.errors.ParleyError` with a typed error frame. Close codes:

* 1003 — a binary frame (the protocol is JSON text).
* 1008 — an agent's token is refused or revoked (after an ``unauthorized``/``forbidden`` frame).
* 1009 — a frame over the byte limit (enforced by the WebSocket layer).
* 1011 — an unexpected server error.
* 1013 — the client reads too slowly to keep up; reconnect and resume.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from parley.bus.messages import Message
from parley.config import Settings
from parley.errors import AuthError, ParleyError, StoreUnavailable
from parley.protocol.codec import Codec, Endpoint, encode, request_context
from parley.protocol.errors import error_frame
from parley.service import AgentSession, Core, VisitorSession
from parley.service.session import Session
from parley.web.clientip import client_ip

log = logging.getLogger("parley.web")

CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013


class Connection:
    """One accepted WebSocket: a send lock, and bus messages relayed to its session in order.

    Bus messages, and frames the lobby encoded once for every console
    (:meth:`push`), wait in one inbox that a pump task drains; the task exists
    only while something is waiting, so an idle connection costs no task (at
    10,000 idle visitors per process, that is memory worth keeping). Whatever
    waits counts towards the limit past which a slow client is closed (1013).
    """

    def __init__(self, ws: WebSocket, core: Core, max_pending: int) -> None:
        self.ws = ws
        self.core = core
        self.max_pending = max_pending
        self._inbox: collections.deque[tuple[str, Message] | str] = collections.deque()
        self._overflowed = False
        self._session: Session | None = None
        self._pump: asyncio.Task[None] | None = None
        self._send_lock = asyncio.Lock()

    async def send(self, frame: dict[str, Any]) -> None:
        """Send one frame; raise WebSocketDisconnect if the client has already gone."""
        await self.send_text(encode(frame))

    async def send_text(self, text: str) -> None:
        """Send one frame already encoded; raise WebSocketDisconnect if the client has gone."""
        async with self._send_lock:
            try:
                await self.ws.send_text(text)
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

    def _deliver(self, topic: str, message: Message) -> None:
        if not self._overflowed:
            self._enqueue((topic, message))

    def _enqueue(self, item: tuple[str, Message] | str) -> None:
        if len(self._inbox) >= self.max_pending:
            self._overflowed = True
        else:
            self._inbox.append(item)
        if self._pump is None and self._session is not None:
            self._pump = asyncio.create_task(self._drain(self._session))

    async def _drain(self, session: Session) -> None:
        try:
            await self._relay_waiting(session)
        finally:
            self._pump = None

    async def _relay_waiting(self, session: Session) -> None:
        try:
            while self._inbox and not self._overflowed:
                item = self._inbox.popleft()
                if isinstance(item, str):
                    await self.send_text(item)
                else:
                    await self._relay(session, *item)
            if not self._overflowed:
                return
        except WebSocketDisconnect:
            return  # the client left while we were relaying; the reader ends the session
        except AuthError as e:
            # The credentials behind this socket stopped being valid (a revoked token).
            with contextlib.suppress(WebSocketDisconnect):
                await self.send(error_frame(e))
            await self._close(CLOSE_POLICY)
            return
        except Exception:
            log.exception("could not deliver to a connection; closing it")
            await self._close(CLOSE_INTERNAL)
            return
        log.warning("closing a connection that fell %d frames behind", self.max_pending)
        await self._close(CLOSE_TRY_AGAIN)

    async def _relay(self, session: Session, topic: str, message: Message) -> None:
        """Hand one bus message to the session, waiting out a store that is briefly away.

        A gap fill may need the store; while it is unavailable the same message is
        retried (nothing was sent, the feed did not move), so no event is skipped.
        """
        delay = 0.1
        while True:
            try:
                await session.on_bus(topic, message)
                return
            except StoreUnavailable as e:
                log.warning("store unavailable while relaying (%s); retrying in %.1f s", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def serve(self, session: VisitorSession | AgentSession, codec: Codec) -> None:
        self._session = session
        try:
            await self._read(session, codec)
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("unexpected error on a %s connection", codec.endpoint)
            await self._close(CLOSE_INTERNAL)
        finally:
            session.close()  # no more bus messages: no new pump
            if (pump := self._pump) is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump

    async def _read(self, session: VisitorSession | AgentSession, codec: Codec) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is None:
                await self._close(CLOSE_UNSUPPORTED, "binary frames are not supported")
                return
            try:
                await session.handle(codec.decode(message["text"]))
            except ParleyError as e:
                await self.send(error_frame(e, **request_context(message["text"])))
                if isinstance(e, AuthError) and codec.endpoint is Endpoint.AGENT:
                    await self._close(CLOSE_POLICY)
                    return

    async def _close(self, code: int, reason: str = "") -> None:
        if self.ws.application_state is not WebSocketState.DISCONNECTED:
            with contextlib.suppress(RuntimeError):
                await self.ws.close(code, reason)


def origin_allowed(ws: WebSocket, settings: Settings) -> bool:
    """Browsers always send Origin; a client without one is not a browser page."""
    origin = ws.headers.get("origin")
    return origin is None or "*" in settings.origins or origin.rstrip("/") in settings.origins


async def _accept(ws: WebSocket) -> tuple[Connection, Settings] | None:
    """Refuse a disallowed origin before the upgrade (HTTP 403); otherwise accept."""
    settings: Settings = ws.app.state.settings
    if not origin_allowed(ws, settings):
        await ws.close(CLOSE_POLICY)
        return None
    await ws.accept()
    return Connection(ws, ws.app.state.core, settings.max_pending_frames), settings


async def visitor_endpoint(ws: WebSocket) -> None:
    accepted = await _accept(ws)
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
    )
    await conn.serve(session, Codec(Endpoint.VISITOR, settings.max_message_chars))


async def agent_endpoint(ws: WebSocket) -> None:
    accepted = await _accept(ws)
    if accepted is None:
        return
    conn, settings = accepted
    session = AgentSession(conn.core, conn.send, conn.subscribe, conn.push)
    await conn.serve(session, Codec(Endpoint.AGENT, settings.max_message_chars))
