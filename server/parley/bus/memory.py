"""In-process fan-out, for one server process."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from parley.bus.base import Bus, Deliver


class MemoryBus(Bus):
    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[Deliver]] = defaultdict(set)

    def subscribe(self, topic: str, deliver: Deliver) -> Callable[[], None]:
        self._subscribers[topic].add(deliver)

        def unsubscribe() -> None:
            subscribers = self._subscribers.get(topic)
            if subscribers is not None:
                subscribers.discard(deliver)
                if not subscribers:
                    del self._subscribers[topic]

        return unsubscribe

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        for deliver in list(self._subscribers.get(topic, ())):
            deliver(topic, message)

    async def start(self) -> None:
        """One process: there is nothing to listen to."""

    async def close(self) -> None:
        self._subscribers.clear()
