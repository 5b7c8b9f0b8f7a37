"""Presence in one process: its consoles and widgets, and what it tells them of everyone's.

Each open console and widget connection has an entry in the presence store
(:mod:`parley.store.presence`), shared by every process beside Redis. This
process refreshes its own entries every :data:`REFRESH` seconds and drops one
when its connection closes, so the entries of a process that died expire
within :data:`TTL`. Every change is announced on the bus
(:class:`~parley.bus.messages.PresenceChanged`); each process then reads the
entries once (:meth:`Presence.read`) and tells its own connections what
changed — consoles ``staff_presence`` and ``visitor_presence``, widgets
``team`` — if they asked for presence in their hello. These frames are
ephemeral: a connection too far behind to take one is not sent it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from parley.bus.base import PRESENCE, Bus
from parley.bus.messages import AgentStateSet, Message, PresenceChanged
from parley.domain import presence as rules
from parley.domain.presence import AgentPresence, AgentState, TeamState, VisitorState
from parley.errors import StoreUnavailable
from parley.protocol.codec import encode
from parley.store.presence import PresenceStore

log = logging.getLogger("parley.presence")

#: Seconds an entry lives unless refreshed, and between two refreshes of this process's own.
TTL = 30.0
REFRESH = 10.0
#: Connections handed a frame per event-loop turn, so a big fan-out never stalls the loop.
FAN_OUT_BATCH = 50

Push = Callable[[str], bool]
"""Queue one encoded frame on a connection if it has room; False if it was not queued."""


@dataclass(slots=True)
class _Console:
    staff_id: str
    name: str
    state: AgentState
    push: Push | None

    def entry(self) -> dict[str, Any]:
        return {"id": self.staff_id, "name": self.name, "state": self.state.value}


@dataclass(slots=True)
class _Widget:
    visitor_id: str
    conversation_id: str | None
    idle: bool
    push: Push | None

    def entry(self) -> dict[str, Any]:
        return {
            "visitor_id": self.visitor_id,
            "conversation_id": self.conversation_id,
            "idle": self.idle,
        }


@dataclass(frozen=True)
class View:
    """Everyone's presence, as read from the store at one time."""

    agents: tuple[AgentPresence, ...] = ()
    visitors: Mapping[str, VisitorState] = field(default_factory=dict)

    @property
    def team(self) -> TeamState:
        return rules.team_state(self.agents)


def staff_frame(view: View) -> dict[str, Any]:
    return {
        "type": "staff_presence",
        "team": view.team.value,
        "agents": [a.to_dict() for a in view.agents],
    }


def visitors_frame(states: Mapping[str, VisitorState]) -> dict[str, Any]:
    items = [{"conversation_id": cid, "state": s.value} for cid, s in sorted(states.items())]
    return {"type": "visitor_presence", "items": items}


def team_frame(team: TeamState) -> dict[str, Any]:
    return {"type": "team", "state": team.value}


class Presence:
    def __init__(self, store: PresenceStore, bus: Bus, clock: Callable[[], datetime]) -> None:
        self.store = store
        self._bus = bus
        self._clock = clock
        self._consoles: dict[str, _Console] = {}
        self._widgets: dict[str, _Widget] = {}
        self._view = View()
        self._round: asyncio.Task[None] | None = None
        self._again = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] | None = None

    def _now(self) -> float:
        return self._clock().timestamp()

    async def start(self) -> None:
        """Hear presence changes, then read where presence stands."""
        self._unsubscribe = self._bus.subscribe(PRESENCE, self._hear)
        self._view = await self.read()

    async def read(self) -> View:
        """Everyone's presence now, from the store (raises StoreUnavailable)."""
        widgets = await self.store.live("visitor", self._now())
        return View(await self._agents(), rules.visitors(widgets.values()))

    async def _agents(self) -> tuple[AgentPresence, ...]:
        """The agents' presence alone: what a widget or an assignment needs, without reading
        every visitor's entry (thousands per process)."""
        return tuple(rules.agents((await self.store.live("agent", self._now())).values()))

    async def available_agents(self) -> list[str]:
        """The ids of the agents available now, in any process."""
        return rules.available_agents(await self._agents())

    # ---- consoles ----------------------------------------------------------

    async def console_opened(self, key: str, staff_id: str, name: str, push: Push | None) -> View:
        """Count a console of ``staff_id``; return the presence it sees first.

        Another console of the same agent gives its state to this one; the agent's
        first console makes them available.
        """
        agents = await self._agents()
        state = next((a.state for a in agents if a.id == staff_id), AgentState.AVAILABLE)
        self._consoles[key] = console = _Console(staff_id, name, state, push)
        await self.store.put("agent", key, console.entry(), self._now(), TTL)
        await self._bus.publish(PresenceChanged())
        return await self.read()

    async def set_agent_state(self, staff_id: str, state: AgentState) -> None:
        """Set the state of every console of ``staff_id``, in every process."""
        await self._set_local(staff_id, state)
        await self._bus.publish(AgentStateSet(staff_id, state.value))

    async def _set_local(self, staff_id: str, state: AgentState) -> bool:
        """Set the state of this process's consoles of ``staff_id``; whether any changed."""
        changed = False
        for key, console in list(self._consoles.items()):
            if console.staff_id == staff_id and console.state is not state:
                console.state = state
                await self.store.put("agent", key, console.entry(), self._now(), TTL)
                changed = True
        return changed

    async def _follow(self, staff_id: str, state: AgentState) -> None:
        """Another process set an agent's state: set it on their consoles here too, and have
        everyone read again (they may have read before these entries changed)."""
        try:
            if await self._set_local(staff_id, state):
                await self._bus.publish(PresenceChanged())
        except StoreUnavailable as e:
            log.warning("could not follow an agent's state (%s); the next refresh will", e)

    # ---- widgets -----------------------------------------------------------

    async def widget_opened(
        self, key: str, visitor_id: str, conversation_id: str | None, push: Push | None
    ) -> TeamState:
        """Count a widget (online, not idle); return the team's state it sees first."""
        self._widgets[key] = _Widget(visitor_id, conversation_id, False, push)
        await self._put_widget(key, changed=conversation_id is not None)
        return rules.team_state(await self._agents())

    async def widget_seen(
        self, key: str, *, idle: bool | None = None, conversation_id: str | None = None
    ) -> None:
        """A widget's heartbeat (``idle``), or the conversation it now shows.

        Only a change is written: :meth:`maintain` keeps an open widget's entry alive, so a
        heartbeat that changes nothing costs no store write, however often it comes.
        """
        widget = self._widgets.get(key)
        if widget is None:
            return
        before = (widget.idle, widget.conversation_id)
        if idle is not None:
            widget.idle = idle
        if conversation_id is not None:
            widget.conversation_id = conversation_id
        if before != (widget.idle, widget.conversation_id):
            await self._put_widget(key, changed=True)

    async def _put_widget(self, key: str, changed: bool) -> None:
        await self.store.put("visitor", key, self._widgets[key].entry(), self._now(), TTL)
        if changed:
            await self._bus.publish(PresenceChanged())

    # ---- both --------------------------------------------------------------

    def closed(self, key: str) -> None:
        """A console or widget connection closed: drop its entry (in the background)."""
        if self._consoles.pop(key, None) is not None:
            self._spawn(self._drop("agent", key, announce=True))
        elif (widget := self._widgets.pop(key, None)) is not None:
            # A visitor still at the gate is shown to nobody: their going changes nothing seen.
            self._spawn(self._drop("visitor", key, announce=widget.conversation_id is not None))

    async def _drop(self, kind: str, key: str, announce: bool) -> None:
        try:
            await self.store.drop(kind, key)
        except StoreUnavailable as e:
            log.warning("could not drop a %s presence entry (%s); it will expire", kind, e)
            return
        if announce:
            await self._bus.publish(PresenceChanged())

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def maintain(self) -> None:
        """Refresh this process's entries, and notice expired ones, every REFRESH seconds."""
        while True:
            await asyncio.sleep(REFRESH)
            try:
                now = self._now()
                consoles = {key: c.entry() for key, c in self._consoles.items()}
                widgets = {key: w.entry() for key, w in self._widgets.items()}
                await self.store.refresh("agent", consoles, now, TTL)
                await self.store.refresh("visitor", widgets, now, TTL)
            except StoreUnavailable as e:
                log.warning("could not refresh presence (%s); retrying", e)
            self._schedule()

    # ---- announcing --------------------------------------------------------

    def _hear(self, topic: str, message: Message) -> None:
        if isinstance(message, AgentStateSet):
            self._spawn(self._follow(message.staff_id, AgentState(message.state)))
        self._schedule()

    def _schedule(self) -> None:
        if self._round is None:
            self._round = asyncio.create_task(self._announce())
        else:
            self._again = True

    async def _announce(self) -> None:
        """Read presence and tell what changed; what is heard meanwhile makes one more round."""
        try:
            while True:
                self._again = False
                await asyncio.sleep(0)  # let the state changes heard with this one be written
                try:
                    view = await self.read()
                except StoreUnavailable as e:
                    log.warning("could not read presence (%s)", e)
                    return
                await self._tell(self._view, view)
                self._view = view
                if not self._again:
                    return
        finally:
            self._round = None

    async def _tell(self, old: View, new: View) -> None:
        to_consoles = []
        if new.agents != old.agents:
            to_consoles.append(encode(staff_frame(new)))
        visitors = rules.changed(old.visitors, new.visitors)
        if visitors:
            to_consoles.append(encode(visitors_frame(visitors)))
        consoles = [c.push for c in self._consoles.values() if c.push is not None]
        for text in to_consoles:
            await fan_out(consoles, text)
        if new.team is not old.team:
            widgets = [w.push for w in self._widgets.values() if w.push is not None]
            await fan_out(widgets, encode(team_frame(new.team)))

    async def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        for task in [*self._tasks, *([self._round] if self._round else [])]:
            task.cancel()
        await self.store.close()


async def fan_out(pushes: list[Push], text: str) -> None:
    """Hand ``text`` to each connection, FAN_OUT_BATCH per event-loop turn."""
    for start in range(0, len(pushes), FAN_OUT_BATCH):
        if start:
            await asyncio.sleep(0)
        for push in pushes[start : start + FAN_OUT_BATCH]:
            push(text)
