"""Placing, lifting and listing legal holds; what the retention sweep and erasure will ask.

Compliance and admin staff (EVIDENCE_ROLES) place a hold on a conversation or
on a visitor and lift it, each with a reason; each change commits with its
audit entry and is announced to every process's lobby, so agent consoles show
the ``held`` flag at once. :func:`holds_on` is the one check retention and
erasure make before touching a conversation: any hold it returns keeps the
conversation as it is.
"""

from __future__ import annotations

from typing import Any

from parley.bus.messages import HoldChanged
from parley.domain import holds as rules
from parley.domain.audit import Actor
from parley.domain.conversation import Conversation
from parley.domain.holds import Hold, HoldScope
from parley.errors import ConversationNotFound, VisitorNotFound
from parley.service.core import Core
from parley.store.base import Page


async def place(core: Core, scope: HoldScope, target: str, reason: str, by: Actor) -> Hold:
    """Place a hold on the conversation or visitor ``target``; it is audited in the same commit.

    Raises ConversationNotFound for an unknown conversation, VisitorNotFound for a visitor
    id no conversation has (a hold on a visitor with none would keep nothing and most
    likely names the wrong visitor), InvalidHoldReason for a blank or overlong reason.
    """
    if scope is HoldScope.CONVERSATION:
        if await core.store.conversation(target) is None:
            raise ConversationNotFound(f"no conversation {target}")
    elif await core.store.latest_conversation(target) is None:
        raise VisitorNotFound(f"no conversation of a visitor {target} is on record")
    at = core.clock()
    change = rules.place(
        hold_id=core.ids("h"), scope=scope, target=target, reason=reason, by=by, at=at
    )
    # Outbox entries owed before it are sealed first: the conversation's audit thread
    # keeps the order of its actions (as Core.audit does).
    await core.store.settle()
    hold = await core.store.place_hold(change, at)
    await core.bus.publish(HoldChanged(hold.to_dict()))
    return hold


async def lift(core: Core, hold_id: str, reason: str, by: Actor) -> Hold:
    """Lift a hold, keeping its record; audited in the same commit.

    Raises HoldNotFound, HoldAlreadyLifted or InvalidHoldReason, having changed nothing.
    """
    at = core.clock()
    await core.store.settle()
    hold = await core.store.lift_hold(
        hold_id, lambda h: rules.lift(h, reason=reason, by=by, at=at), at
    )
    await core.bus.publish(HoldChanged(hold.to_dict()))
    return hold


async def listing(core: Core, active_only: bool, cursor: str | None, limit: int) -> Page[Hold]:
    """Holds in the order placed (only those in force if ``active_only``), one page."""
    return await core.store.holds(active_only, cursor, limit)


async def holds_on(core: Core, conversation: Conversation) -> list[Hold]:
    """The active holds that keep ``conversation``: retention and erasure skip it if any."""
    return await core.store.holds_on(conversation.id, conversation.visitor_id)


async def held_view(core: Core, conversation: Conversation) -> dict[str, Any]:
    """The conversation as a console opens it: its summary, ``"held": true`` while held."""
    view = conversation.to_dict()
    if await holds_on(core, conversation):
        view["held"] = True
    return view
