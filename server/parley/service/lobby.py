"""The lobby: one per process, it hears each list change once and tells every agent console.

It subscribes once to the bus's LOBBY topic (with a Redis bus, every process
hears every committed change), merges what it hears for :data:`UPDATE_INTERVAL`,
builds each round's ``conversation_updates`` frame once per form (whole
summaries or deltas, :mod:`parley.domain.lobby`), encodes it to JSON once, and
hands the same text to every registered console through its connection's
outbound queue (:data:`Push`), :data:`FAN_OUT_BATCH` consoles per event-loop
turn. A console whose connection takes no more is dropped; the others go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from parley.bus.base import LOBBY, Bus
from parley.bus.messages import ConversationChanged, Flooding, HoldChanged, Message
from parley.domain.lobby import ConversationList, Round
from parley.protocol.codec import encode
from parley.store.base import MAX_PAGE, Store

log = logging.getLogger("parley.lobby")

#: A change after a quiet spell goes out at once; a burst goes out as at most one
#: ``conversation_updates`` frame per this many seconds.
UPDATE_INTERVAL = 0.1
#: Consoles handed a frame per event-loop turn, so a big fan-out never stalls the loop.
FAN_OUT_BATCH = 50

Push = Callable[[str], bool]
"""Queue one encoded frame on a console's connection without waiting; False if it takes no more."""


class ListUpdates(StrEnum):
    """How a console wants its list kept current (the agent ``hello``'s ``list_updates``)."""

    FULL = "full"
    DELTA = "delta"


@dataclass(eq=False)
class _Console:
    mode: ListUpdates
    push: Push


class Lobby:
    def __init__(self, bus: Bus, store: Store) -> None:
        self._bus = bus
        self._store = store
        self._list = ConversationList()
        self._consoles: dict[_Console, None] = {}
        self._unsubscribe: Callable[[], None] | None = None
        self._round: asyncio.Task[None] | None = None
        self._sent_at = float("-inf")
        self._list_text: str | None = None  # encoded once per state of the list

    async def start(self) -> None:
        """Hear list changes, then load the active holds and the open conversations, so none
        is missed between."""
        self._unsubscribe = self._bus.subscribe(LOBBY, self._hear)
        cursor = None
        while True:
            page = await self._store.holds(True, cursor, MAX_PAGE)
            self._list.load_holds(h.to_dict() for h in page.items)
            if (cursor := page.next_cursor) is None:
                break
        self._list.load(c.to_dict() for c in await self._store.open_conversations())
        self._list_text = None

    def register(self, mode: ListUpdates, push: Push) -> Callable[[], None]:
        """Hand ``push`` every later round in ``mode``; return what unregisters it.

        A delta console is first pushed the list as announced (:meth:`list_text`): the
        deltas that follow apply to exactly that list.
        """
        console = _Console(mode, push)
        if mode is ListUpdates.DELTA:
            push(self.list_text())
        self._consoles[console] = None

        def unregister() -> None:
            self._consoles.pop(console, None)

        return unregister

    def list_text(self) -> str:
        """The encoded ``conversations`` frame of the list as announced (built once per round:
        consoles that reconnect together after a restart share it)."""
        if self._list_text is None:
            self._list_text = encode({"type": "conversations", "items": self._list.snapshot()})
        return self._list_text

    def counts(self) -> dict[str, int]:
        """Open, waiting and unassigned conversations as last announced (see ConversationList)."""
        return self._list.counts()

    def marked(self, summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Summaries read from the store, with the ``held`` flag the list would give them."""
        return [{**s, "held": True} if self._list.held(s) else s for s in summaries]

    def _hear(self, topic: str, message: Message) -> None:
        if isinstance(message, ConversationChanged):
            self._list.change(message.summary)
        elif isinstance(message, Flooding):
            self._list.flag(message.conversation_id)
        elif isinstance(message, HoldChanged):
            self._list.hold_changed(message.hold)
        if self._round is None:
            self._schedule()

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        delay = max(0.0, self._sent_at + UPDATE_INTERVAL - loop.time())
        self._round = asyncio.create_task(self._announce(delay))

    async def _announce(self, delay: float) -> None:
        """One round; what is heard meanwhile waits for the next, so rounds never overlap."""
        await asyncio.sleep(delay)
        try:
            self._sent_at = asyncio.get_running_loop().time()
            round_ = self._list.announce()
            if round_ is not None:
                self._list_text = None
                await self._fan_out(round_)
        finally:
            self._round = None
            if self._list.pending and self._unsubscribe is not None:
                self._schedule()

    async def _fan_out(self, round_: Round) -> None:
        consoles = list(self._consoles)
        texts = {
            mode: encode(
                {
                    "type": "conversation_updates",
                    "items": round_.deltas if mode is ListUpdates.DELTA else round_.summaries,
                    "flooding": round_.flooding,
                }
            )
            for mode in {c.mode for c in consoles}
        }
        for start in range(0, len(consoles), FAN_OUT_BATCH):
            if start:
                await asyncio.sleep(0)
            for console in consoles[start : start + FAN_OUT_BATCH]:
                if console not in self._consoles:
                    continue  # it left during the fan-out
                try:
                    taken = console.push(texts[console.mode])
                except Exception:  # one broken console must not keep the others from hearing
                    log.exception("could not hand a console the list updates; dropping it")
                    taken = False
                if not taken:
                    self._consoles.pop(console, None)

    def close(self) -> None:
        """Stop hearing changes and forget every console."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._round is not None:
            self._round.cancel()
        self._consoles.clear()
