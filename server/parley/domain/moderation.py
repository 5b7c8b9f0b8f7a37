"""Warnings and closures for violation: citing a clause, with the messages that broke it.

Both cite a clause of the version the visitor accepted in this conversation —
never the one in force now (invariant 4) — in the language they accepted it in,
quote the selected visitor messages exactly, and carry the notice the visitor is
shown, filled from that language's reviewed template. When the visitor accepted a
translation, the citation also carries the governing text's clause, which is what
governs in case of doubt.
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
from parley.domain.policy import DEFAULT_LANGUAGE, Clause, PolicyVersion, render_notice
from parley.domain.transcript import Author, Event, EventType, Role, format_time
from parley.errors import BadEvidence

#: The most messages one warning or closure may quote.
MAX_EXAMPLES = 20


def clause_record(clause: Clause) -> dict[str, str]:
    """A clause as a citation quotes it: id, title and exact text."""
    return {"id": clause.id, "title": clause.title, "text": clause.text}


def governing_text(accepted: PolicyVersion, governing: PolicyVersion | None) -> PolicyVersion:
    """The text that governs ``accepted``: ``governing`` if given, else ``accepted`` itself.

    Raises ValueError (a caller's mistake) if that is not the text ``accepted`` is
    governed by: a translation needs the text it translates.
    """
    governs = accepted if governing is None else governing
    if governs.sha256 != accepted.governing_sha256:
        raise ValueError(
            f"the {accepted.language!r} text of policy {accepted.policy_id} version "
            f"{accepted.version} is governed by {accepted.governing_sha256}, not {governs.sha256}"
        )
    return governs


def governing_clause(
    accepted: PolicyVersion, governing: PolicyVersion, clause_id: str
) -> dict[str, str] | None:
    """The governing text's clause to quote beside a translation's; ``None`` if ``accepted``
    is itself the governing text."""
    if accepted.sha256 == governing.sha256:
        return None
    return clause_record(governing.clause(clause_id))


def _language_fields(
    accepted: PolicyVersion, governing: PolicyVersion, clause_id: str
) -> dict[str, Any]:
    """What a citation adds for a visitor who did not accept the English governing text.

    ``language`` unless the accepted text is the English governing one (so an English
    citation is exactly what it was before translations existed), and ``governing``
    (language, digest, clause) when the accepted text is a translation.
    """
    beside = governing_clause(accepted, governing, clause_id)
    if beside is None:
        return {} if accepted.language == DEFAULT_LANGUAGE else {"language": accepted.language}
    return {
        "language": accepted.language,
        "governing": {
            "language": governing.language,
            "sha256": governing.sha256,
            "clause": beside,
        },
    }


def _citation(
    conv: Conversation,
    accepted: PolicyVersion,
    governing: PolicyVersion | None,
    kind: str,
    clause_id: str,
    note: str | None,
    examples: Sequence[Event],
) -> dict[str, Any]:
    if accepted.ref != conv.policy:
        raise ValueError(f"conversation {conv.id} accepted {conv.policy}, not {accepted.ref}")
    governs = governing_text(accepted, governing)
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
        "clause": clause_record(clause),
        "note": note,
        "messages": quoted,
        "notice": notice,
    } | _language_fields(accepted, governs, clause_id)


def notice_for(
    accepted: PolicyVersion,
    kind: str,
    clause: Clause,
    quoted: Sequence[Mapping[str, Any]],
    conversation_id: str,
) -> str:
    """What the visitor is told: the ``kind`` template of the text they accepted, filled.

    ``accepted`` is the text in the visitor's language, so the notice is in it too (one place).
    """
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
    *,
    governing: PolicyVersion | None = None,
) -> Transition:
    """Warn the visitor under a clause; the conversation stays open.

    ``accepted`` is the text the visitor accepted (``conv.policy``); if it is a
    translation, ``governing`` is the text it translates. Raises as
    :func:`close_for_violation`.
    """
    require_open(conv)
    data = _citation(conv, accepted, governing, "warning", clause_id, note, examples)
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
    *,
    governing: PolicyVersion | None = None,
) -> Transition:
    """End the conversation citing a clause of the version the visitor accepted here.

    ``accepted`` must be the text named by ``conv.policy``, in the language the
    visitor accepted; if it is a translation, ``governing`` is the text it
    translates, whose clause the closure quotes beside it. ``examples`` are
    the visitor's messages the agent selected as evidence; ``bar`` describes a
    bar placed in the same action. Raises :class:`UnknownClause`,
    :class:`BadEvidence`, or :class:`ConversationClosed` if it already ended.
    """
    require_open(conv)
    data = _citation(conv, accepted, governing, "closure", clause_id, note, examples)
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
