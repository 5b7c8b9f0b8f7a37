"""What compliance and legal staff retrieve: acceptances, transcripts, closures, the audit trail."""

from __future__ import annotations

from typing import Any

from parley.domain.chain import verify_links
from parley.domain.policy import DEFAULT_LANGUAGE
from parley.domain.transcript import ENDINGS, Event, verify_chain
from parley.errors import ConversationNotFound
from parley.service.core import Core
from parley.store.base import MAX_PAGE, Filter

ACCEPTANCE_COLUMNS = [
    "conversation_id", "accepted_at", "visitor_id", "policy_id", "version", "title", "sha256",
    "language", "governing_language", "governing_sha256",
    "ip", "user_agent", "locale", "time_zone", "page_url", "widget_build", "widget_sha256",
    "widget_served_sha256", "widget_stale", "affirmation", "event_hash", "erased",
]  # fmt: skip
CLOSURE_COLUMNS = [
    "conversation_id", "closed_at", "policy_id", "version", "sha256", "clause_id",
    "clause_title", "clause_text", "agent_id", "agent_name", "note", "event_hash", "erased",
    "language", "governing_language", "governing_sha256", "governing_clause_title",
    "governing_clause_text",
]  # fmt: skip


def acceptance_record(event: Event, *, with_text: bool) -> dict[str, Any]:
    """An acceptance as compliance reads it: who accepted which exact text, when, from where.

    The listing's record (without the text) names the fields erased since (their values
    are ``null``); the record with the text restates event 1 exactly, and event 1 itself
    says what was erased.
    """
    listed = {} if with_text else {"erased": sorted(event.erased)}
    return {
        "conversation_id": event.conversation_id,
        "accepted_at": event.at,
        "event_hash": event.hash,
        **{k: v for k, v in event.data.items() if with_text or k not in ("text", "document")},
        **listed,
    }


def closure_record(event: Event) -> dict[str, Any]:
    """A closure for violation: which clause (exact text), who, when, with what note.

    The clause is quoted in the ``language`` the visitor accepted; when that was a
    translation, the ``governing_*`` fields quote the governing text's clause beside it
    (``null`` otherwise).
    """
    d = event.data
    governing = d.get("governing") or {}
    governing_clause = governing.get("clause") or {}
    return {
        "conversation_id": event.conversation_id,
        "closed_at": event.at,
        "policy_id": d["policy_id"],
        "version": d["version"],
        "sha256": d["sha256"],
        "clause_id": d["clause"]["id"],
        "clause_title": d["clause"]["title"],
        "clause_text": d["clause"]["text"],
        "agent_id": event.author.id,
        "agent_name": event.author.name,
        "note": d["note"],
        "event_hash": event.hash,
        "erased": sorted(event.erased),
        "language": d.get("language", DEFAULT_LANGUAGE),
        "governing_language": governing.get("language"),
        "governing_sha256": governing.get("sha256"),
        "governing_clause_title": governing_clause.get("title"),
        "governing_clause_text": governing_clause.get("text"),
    }


async def conversation_record(core: Core, conversation_id: str) -> dict[str, Any]:
    """The acceptance (with the exact text), the whole transcript and the closure, if any."""
    conv = await core.store.conversation(conversation_id)
    if conv is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    events = await core.store.events(conversation_id)
    ending = next((e for e in events if e.type in ENDINGS), None)
    problem = verify_chain(events)
    return {
        "conversation": conv.to_dict(),
        "acceptance": acceptance_record(events[0], with_text=True),
        "transcript": [e.to_dict() for e in events],
        "closure": ending.to_dict() if ending is not None else None,
        "chain": {"intact": problem is None, "problem": problem, "head_hash": conv.head_hash},
    }


async def acceptances(core: Core, where: Filter, cursor: str | None, limit: int) -> dict[str, Any]:
    page = await core.store.acceptances(where, cursor, limit)
    items = [acceptance_record(e, with_text=False) for e in page.items]
    return {"items": items, "next_cursor": page.next_cursor}


async def closures(core: Core, where: Filter, cursor: str | None, limit: int) -> dict[str, Any]:
    """Closures matching ``where`` (one page), and counts per clause over all of them."""
    page = await core.store.closures(where, cursor, limit)
    counts = await core.store.closure_counts(where)
    return {
        "items": [closure_record(e) for e in page.items],
        "next_cursor": page.next_cursor,
        "counts": [
            {"policy_id": c.policy_id, "version": c.version, "clause_id": c.clause_id,
             "count": c.count}
            for c in counts
        ],
    }  # fmt: skip


async def policy_conversations(
    core: Core, policy_id: str, version: int, cursor: str | None, limit: int
) -> dict[str, Any]:
    page = await core.store.conversations_by_policy(policy_id, version, cursor, limit)
    return {"items": [c.to_dict() for c in page.items], "next_cursor": page.next_cursor}


async def audit(
    core: Core, cursor: str | None, limit: int, conversation_id: str | None
) -> dict[str, Any]:
    page = await core.store.audit(cursor, limit, conversation_id)
    return {"items": [e.to_dict() for e in page.items], "next_cursor": page.next_cursor}


async def verify_audit(core: Core) -> tuple[int, str | None]:
    """Walk the whole audit chain: how many entries, and the first break if any."""
    entries = []
    cursor = None
    while True:
        page = await core.store.audit(cursor, MAX_PAGE)
        entries += page.items
        if (cursor := page.next_cursor) is None:
            return len(entries), verify_links(entries, "audit entry")
