"""A visitor's record with us, shown to agents before anyone replies."""

from __future__ import annotations

from typing import Any

from parley.domain.conversation import Conversation
from parley.domain.transcript import Event, EventType
from parley.errors import ConversationNotFound
from parley.service.citations import citing_view, texts_for
from parley.service.context import visitor_context
from parley.service.core import Core, policy_view
from parley.service.holds import held_view

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


async def transcript(core: Core, conversation_id: str) -> dict[str, Any]:
    """The whole record of a conversation in any state, for an agent to read: its snapshot,
    the version accepted, the visitor's client and every event. Joins and watches nothing."""
    conv = await core.store.conversation(conversation_id)
    if conv is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    events = await core.store.events(conv.id, 0, conv.last_seq)
    accepted, governing = await texts_for(core, conv.policy)
    return {
        "type": "transcript",
        "conversation": await held_view(core, conv),
        "policy": policy_view(governing, accepted.language) | citing_view(accepted, governing),
        "visitor": visitor_context(events[0]),
        "events": [e.to_dict() for e in events],
    }
