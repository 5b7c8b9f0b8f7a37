"""Ordered, gap-free delivery of one conversation's events to one connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from parley.store.base import Store

Send = Callable[[dict[str, Any]], Awaitable[None]]
OnEvent = Callable[[dict[str, Any]], Awaitable[None]]


class Feed:
    """Sends events with seq ``last_seq + 1, + 2, ...`` exactly once each.

    Bus notifications are hints: one already sent is dropped, one ahead of the
    next expected seq first pulls the gap from the store. So a connection sees
    every committed event in order whatever the bus drops or reorders.
    """

    def __init__(
        self,
        store: Store,
        conversation_id: str,
        last_seq: int,
        send: Send,
        on_event: OnEvent | None = None,
    ) -> None:
        self.store = store
        self.conversation_id = conversation_id
        self.last_seq = last_seq
        self._send = send
        self._on_event = on_event
        self._lock = asyncio.Lock()

    async def catch_up(self) -> None:
        """Send everything committed after ``last_seq``."""
        async with self._lock:
            await self._fill(None)

    async def offer(self, event: dict[str, Any]) -> None:
        """Deliver a notified event, filling any gap before it."""
        async with self._lock:
            seq = event["seq"]
            if seq <= self.last_seq:
                return
            if seq > self.last_seq + 1:
                await self._fill(seq - 1)
            await self._deliver(event)

    async def _fill(self, until_seq: int | None) -> None:
        for event in await self.store.events(self.conversation_id, self.last_seq, until_seq):
            await self._deliver(event.to_dict())

    async def _deliver(self, event: dict[str, Any]) -> None:
        await self._send({"type": "event", "event": event})
        self.last_seq = event["seq"]
        if self._on_event is not None:
            await self._on_event(event)
