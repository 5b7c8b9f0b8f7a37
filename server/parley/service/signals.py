"""Typing and read state: checked, coalesced per sender, relayed on the bus, never stored.

A visitor signals about their own open conversation; an agent about a
conversation they joined. Each session sends at most one signal of a kind per
conversation every ``Core.typing_interval`` seconds: the first goes at once,
later ones within the interval are coalesced silently into the last, which goes
when the interval ends (so a "stopped typing" is never lost to the limit, only
delayed). Receivers see the other side's signals only, as ``typing`` and
``read`` frames; a typing indicator expires :data:`TYPING_EXPIRES` seconds after
the last ``typing`` frame that turned it on (docs/protocol.md §6.9).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from parley.bus.messages import Message, ReadUpTo, Typing
from parley.domain.conversation import Conversation
from parley.domain.transcript import Role
from parley.errors import (
    ConversationClosed,
    ConversationNotFound,
    InvalidFrame,
    NotJoined,
    PolicyNotAccepted,
)

#: Hands one message to the bus (:meth:`parley.bus.base.Bus.publish`).
Publish = Callable[[Message], Coroutine[Any, Any, None]]
#: Seconds after which a receiver hides a typing indicator that was not refreshed.
TYPING_EXPIRES = 6


def own_conversation(current: Conversation | None, frame: Mapping[str, Any]) -> Conversation:
    """The visitor's conversation a signal is about; a typed error if it is not theirs."""
    if current is None:
        raise PolicyNotAccepted("accept the conduct policy first: there is no conversation yet")
    asked = frame.get("conversation_id")
    if asked is not None and asked != current.id:
        raise ConversationNotFound(f"no conversation {asked} of yours")
    return current


def joined_conversation(
    conv: Conversation | None, conversation_id: str, agent_id: str
) -> Conversation:
    """The conversation an agent signals about; a typed error unless they joined it."""
    if conv is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    if agent_id not in conv.agents:
        raise NotJoined(f"join conversation {conversation_id} before sending typing or read state")
    return conv


def check_typing(conv: Conversation) -> None:
    if not conv.is_open:
        raise ConversationClosed(f"conversation {conv.id} has ended: nobody is typing in it")


def check_read(seq: int, last_seq: int) -> None:
    if seq > last_seq:
        raise InvalidFrame(f"read: seq {seq} is beyond the conversation's last event ({last_seq})")


def frame(message: Typing | ReadUpTo) -> dict[str, Any]:
    """The frame that tells the other side of ``message``."""
    body: dict[str, Any] = {"conversation_id": message.conversation_id, "role": message.role}
    if message.sender.get("name"):
        body["name"] = message.sender["name"]
    if isinstance(message, Typing):
        return {"type": "typing", **body, "state": message.state, "expires_in": TYPING_EXPIRES}
    return {"type": "read", **body, "seq": message.seq}


class Coalescer:
    """At most one message per key every ``interval`` seconds; the rest coalesce into the last.

    ``publish`` hands a message to the bus. :meth:`close` cancels what is held back.
    """

    def __init__(
        self,
        publish: Publish,
        interval: float,
        monotonic: Callable[[], float],
    ) -> None:
        self._publish = publish
        self._interval = interval
        self._monotonic = monotonic
        self._sent_at: dict[tuple[str, str], float] = {}
        self._held: dict[tuple[str, str], Message] = {}
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._flushing: set[asyncio.Task[None]] = set()

    async def offer(self, key: tuple[str, str], message: Message) -> None:
        if key in self._held:
            self._held[key] = message
            return
        now = self._monotonic()
        due = self._sent_at.get(key, float("-inf")) + self._interval
        if now >= due:
            self._sent_at[key] = now
            await self._publish(message)
            return
        self._held[key] = message
        self._timers[key] = asyncio.get_running_loop().call_later(due - now, self._flush, key)

    def _flush(self, key: tuple[str, str]) -> None:
        self._timers.pop(key, None)
        message = self._held.pop(key)
        self._sent_at[key] = self._monotonic()
        task = asyncio.create_task(self._publish(message))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._held.clear()


class Signals:
    """One session's outgoing typing and read signals, as ``role``.

    The coalescer is made on the first signal: most of a process's sessions are idle
    visitors who never send one, and each would otherwise hold its empty tables.
    """

    __slots__ = ("_coalescer", "_interval", "_monotonic", "_publish", "role")

    def __init__(self, publish: Publish, role: Role,
                 interval: float, monotonic: Callable[[], float]) -> None:  # fmt: skip
        self.role = role
        self._publish = publish
        self._interval = interval
        self._monotonic = monotonic
        self._coalescer: Coalescer | None = None

    async def typing(self, conversation_id: str, state: bool, sender: Mapping[str, Any]) -> None:
        message = Typing(conversation_id, self.role.value, dict(sender), state)
        await self._offer(("typing", conversation_id), message)

    async def read(self, conversation_id: str, seq: int, sender: Mapping[str, Any]) -> None:
        message = ReadUpTo(conversation_id, self.role.value, dict(sender), seq)
        await self._offer(("read", conversation_id), message)

    async def _offer(self, key: tuple[str, str], message: Message) -> None:
        if self._coalescer is None:
            self._coalescer = Coalescer(self._publish, self._interval, self._monotonic)
        await self._coalescer.offer(key, message)

    def close(self) -> None:
        if self._coalescer is not None:
            self._coalescer.close()
