"""Who is there: agents available or away, the team as visitors see it, visitors online or not.

Pure: it takes the live presence entries (one per open console or widget
connection, whichever process holds it) and says what they add up to.
Presence is never stored in a transcript; only its consequence, an
abandonment, is (:func:`parley.domain.conversation.abandon`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class AgentState(StrEnum):
    """What an agent chose in their console; an agent with no console open is neither."""

    AVAILABLE = "available"
    AWAY = "away"


class TeamState(StrEnum):
    """The team as the widget shows it."""

    AVAILABLE = "available"  # at least one agent is available
    AWAY = "away"  # agents are signed in, none available
    OFFLINE = "offline"  # no agent has a console open


class VisitorState(StrEnum):
    ONLINE = "online"
    IDLE = "idle"  # connected, but no input and the page hidden or untouched for a while
    GONE = "gone"  # no widget connected


@dataclass(frozen=True)
class AgentPresence:
    id: str
    name: str
    state: AgentState

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "state": self.state.value}


def agents(consoles: Iterable[Mapping[str, Any]]) -> list[AgentPresence]:
    """One entry per agent with a console open, by name: available if any console says so."""
    found: dict[str, AgentPresence] = {}
    for c in consoles:
        state = AgentState(c["state"])
        known = found.get(c["id"])
        if known is None or state is AgentState.AVAILABLE:
            found[c["id"]] = AgentPresence(c["id"], c["name"], state)
    return sorted(found.values(), key=lambda a: (a.name, a.id))


def available_agents(team: Iterable[AgentPresence]) -> list[str]:
    """The ids of the agents who may take a conversation now."""
    return [a.id for a in team if a.state is AgentState.AVAILABLE]


def team_state(team: Iterable[AgentPresence]) -> TeamState:
    states = {a.state for a in team}
    if AgentState.AVAILABLE in states:
        return TeamState.AVAILABLE
    return TeamState.AWAY if states else TeamState.OFFLINE


def visitors(widgets: Iterable[Mapping[str, Any]]) -> dict[str, VisitorState]:
    """Each conversation with a widget connected: online if any of its tabs is not idle."""
    found: dict[str, VisitorState] = {}
    for w in widgets:
        conversation_id = w.get("conversation_id")
        if conversation_id is None:
            continue  # still at the gate: nobody to show to agents
        if not w["idle"]:
            found[conversation_id] = VisitorState.ONLINE
        else:
            found.setdefault(conversation_id, VisitorState.IDLE)
    return found


def changed(
    before: Mapping[str, VisitorState], after: Mapping[str, VisitorState]
) -> dict[str, VisitorState]:
    """What agents must be told: new or changed states, and GONE for those no longer there."""
    news = {cid: state for cid, state in after.items() if before.get(cid) is not state}
    return news | {cid: VisitorState.GONE for cid in before if cid not in after}
