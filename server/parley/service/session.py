"""What visitor and agent sessions share: outbound frames and conversation feeds."""

from __future__ import annotations

from collections.abc import Callable

from parley.bus.base import conversation_topic
from parley.bus.messages import EventAdded, Message, ReadUpTo, Typing
from parley.domain.conversation import Conversation
from parley.domain.transcript import Role
from parley.service import signals
from parley.service.core import Core
from parley.service.feed import Feed, OnEvent, Send


class Session:
    """One WebSocket's server-side state. The web layer feeds it frames and bus messages."""

    #: The side of a conversation this session speaks for.
    side: Role

    def __init__(self, core: Core, send: Send, subscribe: Callable[[str], Callable[[], None]]):
        self.core = core
        self.send = send
        self._subscribe = subscribe
        self.feeds: dict[str, Feed] = {}
        self._unsubscribe: dict[str, Callable[[], None]] = {}
        self.signals = signals.Signals(
            core.bus.publish, self.side, core.typing_interval, core.monotonic
        )

    async def watch(
        self, conversation: Conversation, last_seq: int, on_event: OnEvent | None = None
    ) -> None:
        """Subscribe first, then catch up: nothing committed in between can be missed.

        A ``last_seq`` beyond the conversation's end is taken as its end, so a
        client that claims too much still receives every later event.
        """
        conversation_id = conversation.id
        last_seq = min(last_seq, conversation.last_seq)
        self.follow(conversation_topic(conversation_id))
        feed = Feed(self.core.store, conversation_id, last_seq, self.send, on_event)
        self.feeds[conversation_id] = feed
        await feed.catch_up()
        await self.send(
            {"type": "caught_up", "conversation_id": conversation_id, "last_seq": feed.last_seq}
        )

    def follow(self, topic: str) -> None:
        """Receive the bus messages of ``topic`` (once, however often asked)."""
        if topic not in self._unsubscribe:
            self._unsubscribe[topic] = self._subscribe(topic)

    def unwatch(self, conversation_id: str) -> None:
        self.feeds.pop(conversation_id, None)
        unsubscribe = self._unsubscribe.pop(conversation_topic(conversation_id), None)
        if unsubscribe is not None:
            unsubscribe()

    async def on_bus(self, topic: str, message: Message) -> None:
        if isinstance(message, Typing | ReadUpTo):
            # The other side's signals, about a conversation this session watches.
            if message.role != self.side and message.conversation_id in self.feeds:
                await self.send(signals.frame(message))
            return
        if isinstance(message, EventAdded):
            feed = self.feeds.get(message.event["conversation_id"])
            if feed is not None:
                await feed.offer(dict(message.event))

    def close(self) -> None:
        self.signals.close()
        for conversation_id in list(self.feeds):
            self.unwatch(conversation_id)
        for unsubscribe in self._unsubscribe.values():
            unsubscribe()
        self._unsubscribe.clear()
