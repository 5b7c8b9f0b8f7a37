"""Warnings and closures for violation: citing a clause, with the messages that broke it.

Both cite a clause of the version the visitor accepted in this conversation —
never the one in force now (invariant 4) — quote the selected visitor messages
exactly, and carry the notice the visitor is shown, filled from that version's
reviewed template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from parley.domain.conversation import (
    Conversation,
    ConversationState,
    Transition,
    append_event,
    require_open,
)
from parley.domain.policy import Clause, PolicyVersion, render_notice
from parley.domain.transcript import Author, Event, EventType, Role, format_time
from parley.errors import BadEvidence

#: The most messages one warning or closure may quote.
MAX_EXAMPLES = 20


def _citation(
    conv: Conversation,
    accepted: PolicyVersion,
    kind: str,
    clause_id: str,
    note: str | None,
    examples: Sequence[Event],
) -> dict[str, Any]:
    if accepted.ref != conv.policy:
        raise ValueError(f"conversation {conv.id} accepted {conv.policy}, not {accepted.ref}")
    clause = accepted.clause(clause_id)
    if len(examples) > MAX_EXAMPLES:
        raise BadEvidence(f"quote at most {MAX_EXAMPLES} messages")
    for e in examples:
        if (e.conversation_id, e.type, e.author.role) != (conv.id, EventType.MESSAGE, Role.VISITOR):
            raise BadEvidence(f"event {e.seq} is not a message of this conversation's visitor")
        if "text" in e.erased:
            raise BadEvidence(f"event {e.seq}'s text was erased: it can no longer be quoted")
    quoted = [{"seq": e.seq, "text": e.data["text"]} for e in sorted(examples, key=lambda e: e.seq)]
    notice = notice_for(accepted, kind, clause, quoted, conv.id)
    return {
        "policy_id": accepted.policy_id,
        "version": accepted.version,
        "sha256": accepted.sha256,
        "clause": {"id": clause.id, "title": clause.title, "text": clause.text},
        "note": note,
        "messages": quoted,
        "notice": notice,
    }


def notice_for(
    accepted: PolicyVersion,
    kind: str,
    clause: Clause,
    quoted: Sequence[Mapping[str, Any]],
    conversation_id: str,
) -> str:
    """What the visitor is told: the version's ``kind`` template, filled (one place)."""
    examples = [f"“{q['text']}”" for q in quoted]
    return render_notice(
        accepted.notice_template(kind),
        clause,
        examples,
        conversation_id,
        accepted.notice_template("examples"),
    )


def warn(
    conv: Conversation,
    accepted: PolicyVersion,
    agent: Author,
    clause_id: str,
    note: str | None,
    examples: Sequence[Event],
    at: datetime,
) -> Transition:
    """Warn the visitor under a clause; the conversation stays open."""
    require_open(conv)
    data = _citation(conv, accepted, "warning", clause_id, note, examples)
    return append_event(conv, EventType.WARNING, agent, at, data)


def close_for_violation(
    conv: Conversation,
    accepted: PolicyVersion,
    agent: Author,
    clause_id: str,
    note: str | None,
    at: datetime,
    examples: Sequence[Event] = (),
    bar: Mapping[str, Any] | None = None,
) -> Transition:
    """End the conversation citing a clause of the version the visitor accepted here.

    ``accepted`` must be the version named by ``conv.policy``. ``examples`` are
    the visitor's messages the agent selected as evidence; ``bar`` describes a
    bar placed in the same action. Raises :class:`UnknownClause`,
    :class:`BadEvidence`, or :class:`ConversationClosed` if it already ended.
    """
    require_open(conv)
    data = _citation(conv, accepted, "closure", clause_id, note, examples)
    data["bar"] = dict(bar) if bar is not None else None
    return append_event(
        conv,
        EventType.CLOSED,
        agent,
        at,
        data,
        state=ConversationState.CLOSED,
        waiting_since=None,
        ended_at=format_time(at),
        closed_clause=clause_id,
    )
