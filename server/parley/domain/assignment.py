"""Who answers a conversation: the queue, claims, transfers and releases. Pure.

A conversation is born unassigned (``assignee`` is ``None``: it waits in the
queue). One agent claims it, or joins it, and becomes its assignee; only the
assignee — or an admin — replies, warns, resolves or closes it. The assignee
(or an admin) may transfer it to another agent or release it back to the
queue. Each change is an ``assigned`` transcript event naming the new
assignee (``None`` for the queue), why, and who made the change, so the
transcript says who held the conversation at every moment.

The functions raise a :class:`~parley.errors.ConversationError` when the rules
refuse; stores decide on the latest committed state, so of two agents claiming
at once exactly one wins and the other gets :class:`AlreadyAssigned`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum

from parley.domain.conversation import (
    Assignee,
    Conversation,
    Transition,
    append_event,
    require_open,
)
from parley.domain.transcript import SYSTEM, Author, EventType
from parley.errors import AlreadyAssigned, NotAssignee


class Reason(StrEnum):
    """Why the assignee changed (the ``reason`` of an ``assigned`` event)."""

    CLAIMED = "claimed"
    TRANSFERRED = "transferred"
    RELEASED = "released"
    #: Parley gave a new conversation to the least busy available agent (PARLEY_AUTO_ASSIGN).
    AUTO = "auto"


def _who(conv: Conversation) -> str:
    assert conv.assignee is not None
    return conv.assignee.name or conv.assignee.id


def require_assignee(conv: Conversation, staff_id: str, admin: bool) -> None:
    """Raise NotAssignee unless ``staff_id`` holds ``conv`` or the caller is an admin."""
    if admin or (conv.assignee is not None and conv.assignee.id == staff_id):
        return
    if conv.assignee is None:
        raise NotAssignee(f"conversation {conv.id} is in the queue: claim it first")
    raise NotAssignee(f"conversation {conv.id} is assigned to {_who(conv)}")


def _assign(
    conv: Conversation, to: Author | None, reason: Reason, by: Author, at: datetime
) -> Transition:
    assignee = Assignee(to.id, to.name) if to is not None else None
    data = {
        "agent": assignee.to_dict() if assignee else None,
        "reason": reason.value,
        "by": {"id": by.id, "name": by.name},
    }
    return append_event(conv, EventType.ASSIGNED, by, at, data, assignee=assignee)


def claim(conv: Conversation, agent: Author, at: datetime) -> Transition:
    """Take ``conv`` from the queue; AlreadyAssigned if anyone holds it already."""
    require_open(conv)
    if conv.assignee is not None:
        mine = conv.assignee.id == agent.id
        raise AlreadyAssigned(
            f"conversation {conv.id} is already "
            + ("yours" if mine else f"assigned to {_who(conv)}")
        )
    return _assign(conv, agent, Reason.CLAIMED, agent, at)


def claim_to_join(
    conv: Conversation, agent: Author, admin: bool, at: datetime
) -> Transition | None:
    """What joining ``conv`` first does: claim it if it is in the queue.

    ``None`` (nothing to record) if ``agent`` holds it, or if an admin joins a
    conversation another agent holds; NotAssignee for any other agent.
    """
    require_open(conv)
    if conv.assignee is None:
        return _assign(conv, agent, Reason.CLAIMED, agent, at)
    require_assignee(conv, agent.id, admin)
    return None


def transfer(conv: Conversation, by: Author, admin: bool, to: Author, at: datetime) -> Transition:
    """Hand ``conv`` to agent ``to``: by its assignee or an admin (an admin may assign one
    from the queue). AlreadyAssigned if ``to`` holds it already."""
    require_open(conv)
    require_assignee(conv, by.id, admin)
    if conv.assignee is not None and conv.assignee.id == to.id:
        raise AlreadyAssigned(f"conversation {conv.id} is already assigned to {_who(conv)}")
    return _assign(conv, to, Reason.TRANSFERRED, by, at)


def release(conv: Conversation, by: Author, admin: bool, at: datetime) -> Transition:
    """Put ``conv`` back in the queue: by its assignee or an admin."""
    require_open(conv)
    if conv.assignee is None:
        raise NotAssignee(f"conversation {conv.id} is in the queue already")
    require_assignee(conv, by.id, admin)
    return _assign(conv, None, Reason.RELEASED, by, at)


def least_busy(available: Iterable[str], conversations: Iterable[Conversation]) -> str | None:
    """Of the ``available`` agent ids, the one holding the fewest open conversations (of
    equals, the lowest id, so every process picks the same); None if nobody is available."""
    load = Counter(c.assignee.id for c in conversations if c.is_open and c.assignee is not None)
    return min(sorted(set(available)), key=lambda agent_id: load[agent_id], default=None)


def auto_assign(conv: Conversation, agent: Author, at: datetime) -> Transition | None:
    """Give a queued conversation to ``agent``, by Parley itself; None if it is no longer in
    the queue (an agent claimed it first, or it ended): a claim always wins over this."""
    if not conv.is_open or conv.assignee is not None:
        return None
    return _assign(conv, agent, Reason.AUTO, SYSTEM, at)
