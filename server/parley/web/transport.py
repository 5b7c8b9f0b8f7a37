"""uvicorn's sans-I/O WebSocket protocol, changed so that every connection ends.

A client that stops reading fills the kernel's buffers, then the transport's.
From then on no frame, not even a close frame, can be written, and asyncio's
``transport.close()`` waits for a flush that never comes: the socket, its
buffers and the session behind it would stay for good. So here:

* the app may **reset** a connection (the ``parley.abort`` scope extension):
  the socket is closed at once with an RST, which frees its buffers too;
* every close the server starts (the app's, a keepalive timeout, a protocol
  error, shutdown) is followed by a reset if the connection is not gone within
  :data:`CLOSE_TIMEOUT` seconds;
* a client that does not answer a keepalive ping is closed with 1013, not 1011:
  1011 is kept for the server's own faults;
* a text frame that is not UTF-8 is closed with 1007 without logging a
  traceback for what a client sent.
"""

from __future__ import annotations

import contextlib
import socket
import struct

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

#: Scope extension whose ``abort`` resets the connection.
ABORT = "parley.abort"
#: Seconds a close may take (for the close frame to be written, then for the client to
#: answer it) before the connection is reset.
CLOSE_TIMEOUT = 5.0
CLOSE_INVALID_DATA = 1007
CLOSE_TRY_AGAIN = 1013


class WebSocketProtocol(WebSocketsSansIOProtocol):
    async def run_asgi(self) -> None:
        """Run the app with the ``parley.abort`` extension in its scope."""
        self.scope["extensions"][ABORT] = {"abort": self.abort}
        await super().run_asgi()

    async def send(self, message: ASGISendEvent) -> None:
        """As uvicorn; after the app's close frame, reset unless the client answers in time."""
        await super().send(message)
        if message["type"] == "websocket.close" and self.close_timer is not None:
            self._reset_unless_gone()

    def keepalive_timeout(self) -> None:
        """As uvicorn, but with 1013 instead of 1011, and a reset unless the close goes through."""
        self.pong_timer = None
        self.pending_ping_payload = None
        if self.close_sent or self.transport.is_closing():
            return
        self.conn.fail(CLOSE_TRY_AGAIN, "keepalive ping timeout")
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.transport.close()
        self._reset_unless_gone()

    def send_receive_event_to_app(self) -> None:
        """As uvicorn, but a text message that is not UTF-8 is closed 1007 without a traceback."""
        if self.curr_msg_data_type == "text" and not self.close_sent:
            try:
                b"".join(self.frames).decode()
            except UnicodeDecodeError:
                self.frames = []
                self.conn.send_close(CLOSE_INVALID_DATA, "text frames must be UTF-8")
                self.handle_parser_exception()
                return
        super().send_receive_event_to_app()

    def handle_parser_exception(self) -> None:
        """As uvicorn (a frame too big, or not UTF-8), then a reset unless the close is taken."""
        super().handle_parser_exception()
        self._reset_unless_gone()

    def shutdown(self) -> None:
        """As uvicorn, then a reset unless the close goes through: a stalled client cannot keep
        the server from stopping."""
        super().shutdown()
        self._reset_unless_gone()

    def _reset_unless_gone(self) -> None:
        """Reset the connection in CLOSE_TIMEOUT seconds unless it ends first (which cancels it)."""
        if self.close_timer is not None:
            self.close_timer.cancel()
        self.close_timer = self.loop.call_later(CLOSE_TIMEOUT, self.abort)

    def abort(self) -> None:
        """Reset the connection now: an RST to the client, and no buffer kept for it."""
        if self.disconnected:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()
