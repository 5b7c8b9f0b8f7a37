"""A visitor's record with us, shown to agents before anyone replies."""

from __future__ import annotations

from typing import Any

from parley.domain.conversation import Conversation
from parley.domain.transcript import Event, EventType
from parley.service.core import Core
from parley.store.base import Filter

#: How many earlier conversations an agent sees when joining.
HISTORY_SIZE = 20


def _citation(event: Event) -> dict[str, Any]:
    clause = event.data["clause"]
    return {
        "seq": event.seq,
        "at": event.at,
        "clause_id": clause["id"],
        "clause_title": clause["title"],
        "note": event.data["note"],
        "agent": event.author.name,
    }


async def visitor_history(core: Core, current: Conversation) -> list[dict[str, Any]]:
    """The visitor's earlier conversations, newest first: outcome, warnings, closure."""
    page = await core.store.acceptances(Filter(visitor_id=current.visitor_id), None, 500)
    earlier = [e.conversation_id for e in page.items if e.conversation_id != current.id]
    history = []
    for conversation_id in reversed(earlier[-HISTORY_SIZE:]):
        conv = await core.store.conversation(conversation_id)
        if conv is None:
            continue
        events = await core.store.events(conversation_id)
        warnings = [_citation(e) for e in events if e.type is EventType.WARNING]
        closure = next((_citation(e) for e in events if e.type is EventType.CLOSED), None)
        history.append(
            {
                "conversation_id": conv.id,
                "started_at": conv.started_at,
                "ended_at": conv.ended_at,
                "state": conv.state.value,
                "policy": {"policy_id": conv.policy.policy_id, "version": conv.policy.version},
                "warnings": warnings,
                "closure": closure,
            }
        )
    return history
