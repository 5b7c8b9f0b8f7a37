"""In-process fan-out, for one server process."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from parley.bus.base import Bus, Deliver
from parley.bus.messages import Message


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

    async def publish(self, message: Message) -> None:
        self.deliver(message)

    async def committed(self, messages: list[Message]) -> None:
        for message in messages:
            self.deliver(message)

    def deliver(self, message: Message) -> None:
        """Hand ``message`` to this process's subscribers of its topic."""
        topic = message.topic
        for deliver in list(self._subscribers.get(topic, ())):
            deliver(topic, message)

    async def start(self) -> None:
        """One process: there is nothing to listen to."""

    async def close(self) -> None:
        self._subscribers.clear()
