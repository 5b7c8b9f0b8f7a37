"""The messages the bus carries: one frozen dataclass per kind, and their wire form.

Every message names its topic (:attr:`topic`) and encodes to a JSON object
with a ``kind`` field (:func:`encode`); :func:`decode` is the only way back and
raises :class:`MalformedMessage` for anything else, so a subscriber never sees
a dict it has to guess about. :func:`committed` is the one place that turns a
committed action into the messages that announce it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from parley.bus.base import (
    CANNED,
    LOBBY,
    POLICY,
    PRESENCE,
    conversation_topic,
    staff_topic,
    visitor_topic,
)
from parley.domain.conversation import Conversation
from parley.domain.transcript import Event


class MalformedMessage(ValueError):
    """A payload that is not the encoding of any bus message."""


@dataclass(frozen=True)
class EventAdded:
    """A transcript event was committed (to the conversation's watchers)."""

    event: Mapping[str, Any]

    @property
    def topic(self) -> str:
        return conversation_topic(self.event["conversation_id"])


@dataclass(frozen=True)
class ConversationChanged:
    """A conversation's summary after a committed action (to the agents' list)."""

    summary: Mapping[str, Any]
    topic = LOBBY


@dataclass(frozen=True)
class Flooding:
    """A visitor is being rate-limited (to the agents' list)."""

    conversation_id: str
    topic = LOBBY


@dataclass(frozen=True)
class ConversationStarted:
    """A visitor started a conversation (to the visitor's other tabs)."""

    visitor_id: str
    conversation: Mapping[str, Any]

    @property
    def topic(self) -> str:
        return visitor_topic(self.visitor_id)


@dataclass(frozen=True)
class StaffRevoked:
    staff_id: str
    revoked_at: str

    @property
    def topic(self) -> str:
        return staff_topic(self.staff_id)


@dataclass(frozen=True)
class PolicyInForce:
    """A published version came into force (to visitors at the gate)."""

    policy: Mapping[str, Any]
    topic = POLICY


@dataclass(frozen=True)
class PresenceChanged:
    """A console or widget came, went or changed its state: read presence again."""

    topic = PRESENCE


@dataclass(frozen=True)
class AgentStateSet:
    """An agent chose available or away: every process updates that agent's consoles."""

    staff_id: str
    state: str
    topic = PRESENCE


@dataclass(frozen=True)
class Typing:
    """One side of a conversation started or stopped typing (ephemeral: never stored).

    ``role`` is the sender's side (``visitor`` or ``agent``); ``sender`` is
    ``{"id", "name"}`` for an agent, empty for the visitor.
    """

    conversation_id: str
    role: str
    sender: Mapping[str, Any]
    state: bool
    ephemeral = True

    @property
    def topic(self) -> str:
        return conversation_topic(self.conversation_id)


@dataclass(frozen=True)
class ReadUpTo:
    """One side of a conversation has read its events up to ``seq`` (ephemeral: never stored)."""

    conversation_id: str
    role: str
    sender: Mapping[str, Any]
    seq: int
    ephemeral = True

    @property
    def topic(self) -> str:
        return conversation_topic(self.conversation_id)


@dataclass(frozen=True)
class CannedChanged:
    """The canned replies changed (to every agent console): ``replies`` is ``{"items": [...]}``."""

    replies: Mapping[str, Any]
    topic = CANNED


@dataclass(frozen=True)
class HoldChanged:
    """A legal hold was placed or lifted (to the agents' list): ``hold`` is its record."""

    hold: Mapping[str, Any]
    topic = LOBBY


Message = (
    EventAdded
    | ConversationChanged
    | Flooding
    | ConversationStarted
    | StaffRevoked
    | PolicyInForce
    | PresenceChanged
    | AgentStateSet
    | Typing
    | ReadUpTo
    | CannedChanged
    | HoldChanged
)

_KINDS: dict[str, type[Message]] = {
    "event": EventAdded,
    "conversation": ConversationChanged,
    "flooding": Flooding,
    "started": ConversationStarted,
    "revoked": StaffRevoked,
    "policy": PolicyInForce,
    "presence": PresenceChanged,
    "agent_state": AgentStateSet,
    "typing": Typing,
    "read": ReadUpTo,
    "canned": CannedChanged,
    "hold": HoldChanged,
}
_NAMES = {cls: name for name, cls in _KINDS.items()}
#: What each annotated field type must hold once decoded (``bool`` is not an ``int`` here).
_FIELD_CHECKS = {
    "str": lambda v: isinstance(v, str),
    "bool": lambda v: isinstance(v, bool),
    "int": lambda v: type(v) is int,
    "Mapping[str, Any]": lambda v: isinstance(v, dict),
}


#: The sides of a conversation that type and read.
SIDES = ("visitor", "agent")


def is_ephemeral(message: Message) -> bool:
    """Whether ``message`` is a passing signal (typing, read state) that may be dropped under
    load: never stored, and never a reason to close a slow connection."""
    return bool(getattr(type(message), "ephemeral", False))


def encode(message: Message) -> dict[str, Any]:
    fields = {k: dict(v) if isinstance(v, Mapping) else v for k, v in vars(message).items()}
    return {"kind": _NAMES[type(message)], **fields}


def decode(payload: Any) -> Message:
    """The message ``payload`` encodes; raise MalformedMessage if it encodes none."""
    if not isinstance(payload, dict):
        raise MalformedMessage(f"a bus message is a JSON object, not {type(payload).__name__}")
    fields = dict(payload)
    cls = _KINDS.get(fields.pop("kind", None))
    if cls is None:
        raise MalformedMessage(f"unknown bus message kind {payload.get('kind')!r}")
    try:
        message = cls(**fields)
    except TypeError as e:
        raise MalformedMessage(f"{payload['kind']} message: {e}") from None
    expected = cls.__dataclass_fields__
    for name, value in vars(message).items():
        if not _FIELD_CHECKS[str(expected[name].type)](value):
            raise MalformedMessage(f"{payload['kind']} message: {name} has the wrong type")
    if isinstance(message, EventAdded) and not _event_shaped(message.event):
        raise MalformedMessage("event message: the event has no conversation_id and seq")
    if isinstance(message, Typing | ReadUpTo) and message.role not in SIDES:
        raise MalformedMessage(f"{payload['kind']} message: role is neither visitor nor agent")
    if isinstance(message, ReadUpTo) and message.seq < 0:
        raise MalformedMessage("read message: seq is negative")
    if isinstance(message, CannedChanged) and not isinstance(message.replies.get("items"), list):
        raise MalformedMessage("canned message: replies has no items list")
    if isinstance(message, HoldChanged) and not _hold_shaped(message.hold):
        raise MalformedMessage("hold message: the hold has no id, scope, target and lifted_at")
    return message


def _hold_shaped(hold: Mapping[str, Any]) -> bool:
    return (
        all(isinstance(hold.get(k), str) for k in ("id", "scope", "target")) and "lifted_at" in hold
    )


def _event_shaped(event: Mapping[str, Any]) -> bool:
    return isinstance(event.get("conversation_id"), str) and type(event.get("seq")) is int


def committed(conversation: Conversation, event: Event | None) -> list[Message]:
    """What announces a committed action: its event to watchers, the new summary to agents."""
    summary = ConversationChanged(conversation.to_dict())
    return [EventAdded(event.to_dict()), summary] if event is not None else [summary]


def envelope(messages: list[Message], origin: str) -> str:
    """The payload that carries ``messages`` between processes, and who sent them."""
    return orjson.dumps({"origin": origin, "messages": [encode(m) for m in messages]}).decode()
