"""A visitor's record with us, shown to agents before anyone replies."""

from __future__ import annotations

from typing import Any

from parley.domain.conversation import Conversation
from parley.domain.transcript import Event, EventType
from parley.service.core import Core

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
    """The visitor's conversations before this one, newest first: outcome, warnings, closure."""
    earlier = await core.store.earlier_conversations(current.visitor_id, current.id, HISTORY_SIZE)
    history = []
    for past in earlier:
        conv = past.conversation
        warnings = [_citation(e) for e in past.moderation if e.type is EventType.WARNING]
        closure = next((_citation(e) for e in past.moderation if e.type is EventType.CLOSED), None)
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
