"""Signed receipts for visitors (:mod:`parley.domain.receipt`), issued from stored events."""

from __future__ import annotations

from typing import Any

from parley.domain import receipt
from parley.domain.conversation import Conversation
from parley.domain.transcript import Event
from parley.errors import ConversationNotFound, PolicyNotAccepted
from parley.service.core import Core


def issue(core: Core, event: Event, conversation: Conversation) -> dict[str, Any]:
    """The receipt of ``event``, a committed event of ``conversation``, signed now."""
    return receipt.issue(core.key, event, conversation, core.clock())


async def of_event(core: Core, conversation: Conversation, seq: int) -> dict[str, Any] | None:
    """The receipt of the stored event ``seq``; ``None`` if that event gets none."""
    stored = await core.store.events(conversation.id, seq - 1, seq)
    if not stored or stored[0].type not in receipt.KINDS:
        return None
    return issue(core, stored[0], conversation)


async def of_conversation(core: Core, conversation: Conversation) -> list[dict[str, Any]]:
    """A receipt of each acceptance, warning and closure stored in ``conversation``, in order."""
    events = await core.store.events(conversation.id)
    return [issue(core, e, conversation) for e in events if e.type in receipt.KINDS]


async def visitors_conversation(
    core: Core, visitor_id: str, current: Conversation | None, conversation_id: str | None
) -> Conversation:
    """The visitor's conversation named (their current one if ``None``); a typed error if it
    is not theirs, or they have none."""
    if conversation_id is None:
        if current is None:
            raise PolicyNotAccepted("accept the conduct policy first: there is no conversation yet")
        return current
    found = await core.store.conversation(conversation_id)
    if found is None or found.visitor_id != visitor_id:
        raise ConversationNotFound(f"no conversation {conversation_id} of yours")
    return found
