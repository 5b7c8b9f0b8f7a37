"""The bus interface.

A bus carries *notifications* of what the store already committed; it is not
the record. Delivery is at most once and may reorder messages from different
publishers, so subscribers treat each message as a hint and read any gap from
the store (see :class:`parley.service.feed.Feed`). ``deliver`` callbacks must
not block: they hand the message to the connection's own queue.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parley.bus.messages import Message

Deliver = Callable[[str, "Message"], None]

LOBBY = "lobby"
#: A new policy version came into force.
POLICY = "policy"
#: Someone's presence changed (ephemeral: see parley.service.presence).
PRESENCE = "presence"
#: The canned replies changed (to every agent console).
CANNED = "canned"


def conversation_topic(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"


def staff_topic(staff_id: str) -> str:
    """News about one staff member's token, such as its revocation."""
    return f"staff:{staff_id}"


def visitor_topic(visitor_id: str) -> str:
    """News for every connection (tab) of one visitor, such as a conversation started elsewhere."""
    return f"visitor:{visitor_id}"


class Bus(ABC):
    @abstractmethod
    async def start(self) -> None:
        """Begin receiving messages from other processes."""

    @abstractmethod
    def subscribe(self, topic: str, deliver: Deliver) -> Callable[[], None]:
        """Call ``deliver(topic, message)`` for each message published; return an unsubscribe."""

    @abstractmethod
    async def publish(self, message: Message) -> None:
        """Deliver ``message`` to the subscribers of its topic, here and in other processes."""

    @abstractmethod
    async def committed(self, messages: list[Message]) -> None:
        """Deliver the messages that announce an action the store just committed.

        The one publisher of committed actions. In-process, this delivers them;
        beside the Redis store, whose commit script already published them to
        every process (this one included), it has nothing left to do.
        """

    @abstractmethod
    async def close(self) -> None:
        """Release what the bus holds."""
