"""The conversation state machine.

Each function takes the current :class:`Conversation` and the facts of one
action (time and ids passed in) and returns a :class:`Transition`: the next
conversation state and the sealed event that records it. Functions raise a
:class:`~parley.errors.ConversationError` when the rules refuse the action;
nothing is returned then, so nothing can be written.

States: a conversation is born ``open`` by its acceptance and ends ``resolved``,
``closed`` (for violation) or ``abandoned`` (its visitor had gone). Ended is final.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from parley.domain.audit import Actor, AuditAction, AuditDraft
from parley.domain.bans import Ban
from parley.domain.policy import PolicyRef, PolicyVersion
from parley.domain.transcript import (
    ENDINGS,
    GENESIS,
    SYSTEM,
    Author,
    Event,
    EventType,
    Role,
    format_time,
    seal,
)
from parley.domain.widget import WidgetBuild, on_record
from parley.errors import (
    AlreadyAccepted,
    ConversationClosed,
    InvalidEmail,
    NotJoined,
    PolicyMismatch,
)

PREVIEW_CHARS = 140


class ConversationState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class ClientContext:
    """What the server knows of the visitor's client when they accept."""

    ip: str | None
    user_agent: str | None
    locale: str | None = None
    page_url: str | None = None
    widget_build: str | None = None
    #: IANA time zone the browser reported, so evidence can show the visitor's local time.
    time_zone: str | None = None
    #: The URL the widget's script was loaded from, and its ``integrity`` attribute.
    script_url: str | None = None
    integrity: str | None = None


@dataclass(frozen=True)
class Assignee:
    """The one agent a conversation is assigned to (see :mod:`parley.domain.assignment`)."""

    id: str
    name: str | None

    def to_dict(self) -> dict[str, str | None]:
        return {"id": self.id, "name": self.name}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Assignee:
        return cls(d["id"], d["name"])


@dataclass(frozen=True)
class Conversation:
    """A snapshot of one conversation; the store keeps the latest."""

    id: str
    visitor_id: str
    policy: PolicyRef
    state: ConversationState
    started_at: str
    updated_at: str
    last_seq: int
    head_hash: str
    agents: tuple[str, ...] = ()
    waiting_since: str | None = None
    last_message: str | None = None
    last_author: Role | None = None
    ended_at: str | None = None
    closed_clause: str | None = None
    #: Who answers it; ``None`` while it waits in the queue for an agent to claim it.
    assignee: Assignee | None = None

    @property
    def is_open(self) -> bool:
        return self.state is ConversationState.OPEN

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "visitor_id": self.visitor_id,
            "policy": {
                "policy_id": self.policy.policy_id,
                "version": self.policy.version,
                "sha256": self.policy.sha256,
                "language": self.policy.language,
            },
            "state": self.state.value,
            "started_at": self.started_at,
            "updated_at": self.updated_at,
            "last_seq": self.last_seq,
            "head_hash": self.head_hash,
            "agents": list(self.agents),
            "waiting_since": self.waiting_since,
            "last_message": self.last_message,
            "last_author": self.last_author.value if self.last_author else None,
            "ended_at": self.ended_at,
            "closed_clause": self.closed_clause,
            "assignee": self.assignee.to_dict() if self.assignee else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Conversation:
        return cls(
            id=d["id"],
            visitor_id=d["visitor_id"],
            # Snapshots stored before translations name no language: the text was English.
            policy=PolicyRef(**d["policy"]),
            state=ConversationState(d["state"]),
            started_at=d["started_at"],
            updated_at=d["updated_at"],
            last_seq=d["last_seq"],
            head_hash=d["head_hash"],
            agents=tuple(d["agents"]),
            waiting_since=d["waiting_since"],
            last_message=d["last_message"],
            last_author=Role(d["last_author"]) if d["last_author"] else None,
            ended_at=d.get("ended_at"),
            closed_clause=d.get("closed_clause"),
            # Snapshots stored before assignment existed hold none: unassigned.
            assignee=Assignee.from_dict(d["assignee"]) if d.get("assignee") else None,
        )


@dataclass(frozen=True)
class Answer:
    """What a visitor's ``accept`` echoes of the offer: the version, the digest of the text
    read, and that text's language if the widget names it."""

    policy_id: str
    version: int
    sha256: str
    language: str | None = None


@dataclass(frozen=True)
class Transition:
    """The whole outcome of one action, which a store commits in one transaction.

    ``conversation`` is the snapshot after it and ``event`` the transcript event
    that records it; ``audit`` is the audit entry a staff action owes (sealed by
    the store after the chain's head); ``ban`` a bar placed in the same action.
    What must be announced and anchored follows from these (see
    :mod:`parley.bus.messages` and :func:`ends`).
    """

    conversation: Conversation
    event: Event
    audit: AuditDraft | None = None
    ban: Ban | None = None

    @property
    def ends(self) -> bool:
        """Whether this action ended the conversation (its head is anchored at once); an
        erasure recorded after the ending leaves it ended without ending it again."""
        return self.event.type in ENDINGS


def audited(t: Transition, actor: Actor, action: AuditAction, **details: Any) -> Transition:
    """``t`` with the audit entry of a staff action: who did it, to which event."""
    draft = AuditDraft(
        actor, action, t.event.conversation_id, details={"seq": t.event.seq, **details}
    )
    return replace(t, audit=draft)


def append_event(
    conv: Conversation,
    type: EventType,
    author: Author,
    at: datetime,
    data: dict[str, Any],
    client_id: str | None = None,
    **changes: Any,
) -> Transition:
    """Seal the next event of ``conv`` and apply ``changes`` to its snapshot."""
    event = seal(
        conversation_id=conv.id,
        seq=conv.last_seq + 1,
        prev_hash=conv.head_hash,
        type=type,
        at=at,
        author=author,
        data=data,
        client_id=client_id,
    )
    after = replace(conv, last_seq=event.seq, head_hash=event.hash, updated_at=event.at, **changes)
    return Transition(after, event)


def require_open(conv: Conversation) -> None:
    if not conv.is_open:
        raise ConversationClosed(f"conversation {conv.id} is {conv.state.value}")


def accepted_text(offered: PolicyVersion, answer: Answer | PolicyRef) -> PolicyVersion:
    """The text of ``offered`` that ``answer`` accepts: the one in its language (or, if it
    names none, in the language whose digest it echoes). Raises :class:`PolicyMismatch`
    if the answer echoes another version, or a digest that is not that text's."""
    if (answer.policy_id, answer.version) == (offered.policy_id, offered.version):
        for text in (offered, *offered.translations):
            same_language = (
                answer.language is None or answer.language.lower() == text.language.lower()
            )
            if same_language and text.sha256 == answer.sha256:
                return text
    digests = ", ".join(f"{t.language} {t.sha256}" for t in (offered, *offered.translations))
    raise PolicyMismatch(
        f"the policy in force is {offered.policy_id} version {offered.version}, "
        f"with sha256 by language: {digests}"
    )


def start(
    *,
    conversation_id: str,
    visitor_id: str,
    previous: Conversation | None,
    offered: PolicyVersion,
    answer: Answer | PolicyRef,
    client: ClientContext,
    at: datetime,
    affirmation: str | None = None,
    served_widget: WidgetBuild | None = None,
) -> Transition:
    """Open a conversation whose first event is the visitor's acceptance of ``offered``.

    ``previous`` is the visitor's latest conversation; ``affirmation`` is what
    the widget says the visitor did to accept (the label of the box ticked);
    ``served_widget`` the widget build this server serves, which the widget's own
    reports are weighed against (:func:`parley.domain.widget.on_record`). Raises
    :class:`AlreadyAccepted` if it is still open and :class:`PolicyMismatch` if
    ``answer`` does not echo exactly the offered policy id, version and the digest of its
    text in one of its languages (:func:`accepted_text`). The acceptance records that
    text, its language, and the digest of the governing text.
    """
    if previous is not None and previous.is_open:
        raise AlreadyAccepted(f"conversation {previous.id} is already open")
    accepted = accepted_text(offered, answer)
    empty = Conversation(
        id=conversation_id,
        visitor_id=visitor_id,
        policy=accepted.ref,
        state=ConversationState.OPEN,
        started_at=format_time(at),
        updated_at=format_time(at),
        last_seq=0,
        head_hash=GENESIS,
    )
    data = {
        "policy_id": accepted.policy_id,
        "version": accepted.version,
        "title": accepted.title,
        "sha256": accepted.sha256,
        "text": accepted.text,
        # The structured version too, so a verifier can rebuild the text and find each clause.
        "document": accepted.to_document(),
        "language": accepted.language,
        "governing_language": accepted.governing_language,
        "governing_sha256": accepted.governing_sha256,
        "visitor_id": visitor_id,
        "ip": client.ip,
        "user_agent": client.user_agent,
        "locale": client.locale,
        "time_zone": client.time_zone,
        "page_url": client.page_url,
        "widget_build": client.widget_build,
        **on_record(
            served_widget, client.widget_build, client.script_url, client.integrity
        ).to_dict(),
        "affirmation": affirmation,
    }
    return append_event(empty, EventType.ACCEPTANCE, Author(Role.VISITOR, visitor_id), at, data)


def visitor_message(conv: Conversation, text: str, client_id: str, at: datetime) -> Transition:
    require_open(conv)
    return append_event(
        conv,
        EventType.MESSAGE,
        Author(Role.VISITOR, conv.visitor_id),
        at,
        {"text": text},
        client_id,
        waiting_since=conv.waiting_since or format_time(at),
        last_message=text[:PREVIEW_CHARS],
        last_author=Role.VISITOR,
    )


def agent_join(conv: Conversation, agent: Author, at: datetime) -> Transition | None:
    """Record that ``agent`` joined; ``None`` if they already had (nothing is recorded twice)."""
    require_open(conv)
    if agent.id in conv.agents:
        return None
    return append_event(
        conv, EventType.AGENT_JOINED, agent, at, {}, agents=(*conv.agents, agent.id)
    )


def agent_reply(
    conv: Conversation, agent: Author, text: str, client_id: str, at: datetime
) -> Transition:
    require_open(conv)
    if agent.id not in conv.agents:
        raise NotJoined(f"join conversation {conv.id} before replying")
    return append_event(
        conv,
        EventType.MESSAGE,
        agent,
        at,
        {"text": text},
        client_id,
        waiting_since=None,
        last_message=text[:PREVIEW_CHARS],
        last_author=Role.AGENT,
    )


def resolve(conv: Conversation, agent: Author, note: str | None, at: datetime) -> Transition:
    """End the conversation normally."""
    require_open(conv)
    return append_event(
        conv,
        EventType.RESOLVED,
        agent,
        at,
        {"note": note},
        state=ConversationState.RESOLVED,
        waiting_since=None,
        ended_at=format_time(at),
    )


def abandon(conv: Conversation, gone_since: str, at: datetime) -> Transition | None:
    """End the conversation as abandoned by its visitor; ``None`` if it has ended already.

    Two processes may both find the visitor gone: the second one records nothing.
    """
    if not conv.is_open:
        return None
    return append_event(
        conv,
        EventType.ABANDONED,
        SYSTEM,
        at,
        {"gone_since": gone_since},
        state=ConversationState.ABANDONED,
        waiting_since=None,
        ended_at=format_time(at),
    )


#: A robust check, not RFC 5322: one ``@``, no spaces or controls, a dot in the domain.
EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f.]+(\.[^@\s\x00-\x1f\x7f.]+)+")


def leave_contact(conv: Conversation, email: str, client_id: str, at: datetime) -> Transition:
    """Record the e-mail address the visitor left while nobody was available.

    Raises InvalidEmail for a text that is not an address (no lookup is made).
    """
    require_open(conv)
    address = email.strip()
    if len(address) > 254 or EMAIL.fullmatch(address) is None:
        raise InvalidEmail("that does not look like an e-mail address, e.g. name@example.com")
    visitor = Author(Role.VISITOR, conv.visitor_id)
    return append_event(conv, EventType.CONTACT_LEFT, visitor, at, {"email": address}, client_id)


def waiting_first(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Order open conversations' summaries for agents: longest waiting first, then by activity."""
    waiting = sorted((s for s in summaries if s["waiting_since"]), key=lambda s: s["waiting_since"])
    idle = sorted(
        (s for s in summaries if not s["waiting_since"]),
        key=lambda s: s["updated_at"],
        reverse=True,
    )
    return waiting + idle
