"""What compliance and legal staff retrieve: acceptances, transcripts, closures."""

from __future__ import annotations

from typing import Any

from parley.domain.transcript import Event, EventType, verify_chain
from parley.errors import BadRequest, ConversationNotFound
from parley.service.core import Core
from parley.store.base import MAX_PAGE, Page


def acceptance_record(event: Event, *, with_text: bool) -> dict[str, Any]:
    """An acceptance as compliance reads it: who accepted which exact text, when, from where."""
    record = {
        "conversation_id": event.conversation_id,
        "accepted_at": event.at,
        "event_hash": event.hash,
        **{k: v for k, v in event.data.items() if with_text or k != "text"},
    }
    return record


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
    return limit


async def conversation_record(core: Core, conversation_id: str) -> dict[str, Any]:
    """The acceptance (with the exact text), the whole transcript and the closure, if any."""
    conv = await core.store.conversation(conversation_id)
    if conv is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    events = await core.store.events(conversation_id)
    ending = next((e for e in events if e.type in (EventType.CLOSED, EventType.RESOLVED)), None)
    problem = verify_chain(events)
    return {
        "conversation": conv.to_dict(),
        "acceptance": acceptance_record(events[0], with_text=True),
        "transcript": [e.to_dict() for e in events],
        "closure": ending.to_dict() if ending is not None else None,
        "chain": {"intact": problem is None, "problem": problem, "head_hash": conv.head_hash},
    }


async def visitor_acceptances(
    core: Core, visitor_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    page = await core.store.acceptances_by_visitor(visitor_id, cursor, check_limit(limit))
    return _page([acceptance_record(e, with_text=False) for e in page.items], page)


async def policy_conversations(
    core: Core, policy_id: str, version: int, cursor: str | None, limit: int
) -> dict[str, Any]:
    page = await core.store.conversations_by_policy(policy_id, version, cursor, check_limit(limit))
    return _page([c.to_dict() for c in page.items], page)


def _page(items: list[dict[str, Any]], page: Page[Any]) -> dict[str, Any]:
    return {"items": items, "next_cursor": page.next_cursor}
