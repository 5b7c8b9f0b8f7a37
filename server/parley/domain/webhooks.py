"""Webhooks: what other systems are told, and the endpoints they are told at.

Pure: ids, secrets and times are passed in. A :class:`Notice` is one thing that
happened (a conversation started, resolved or closed, a visitor warned, a bar
placed or lifted, a policy version published), derived from what was committed
(:func:`notices_of`) and journaled in the same commit;
:mod:`parley.domain.deliveries` takes each to the :class:`Endpoint` s that want
it. Payloads follow the Standard Webhooks convention (``{"type", "timestamp",
"data"}``), signed over ``id.timestamp.body`` with the endpoint's secret
(:func:`parley.domain.deliveries.signed_headers`); the notice id is the
``webhook-id``, the same on every attempt, so a receiver can drop a delivery it
already had.

A notice's data carries ids, clause texts and times; never what a visitor wrote,
a token, or an address.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import orjson

from parley.domain.bans import Ban
from parley.domain.conversation import Transition
from parley.domain.policy import PolicyVersion
from parley.domain.transcript import Event, format_time
from parley.domain.transcript import EventType as Recorded
from parley.errors import InvalidWebhook

#: The longest endpoint URL kept.
MAX_URL = 2000
#: A subscription to every event type, those added later included.
ALL = "*"


class EventType(StrEnum):
    CONVERSATION_STARTED = "conversation.started"
    CONVERSATION_RESOLVED = "conversation.resolved"
    CONVERSATION_CLOSED = "conversation.closed"
    VISITOR_WARNED = "visitor.warned"
    BAR_CREATED = "bar.created"
    BAR_LIFTED = "bar.lifted"
    POLICY_PUBLISHED = "policy.published"


@dataclass(frozen=True)
class Notice:
    """One thing to tell endpoints about; ``id`` (``evt_…``) is its ``webhook-id``."""

    id: str
    type: EventType
    at: str
    data: Mapping[str, Any]

    def payload(self) -> bytes:
        """The body every attempt sends, byte for byte the same."""
        return orjson.dumps({"type": self.type.value, "timestamp": self.at, "data": self.data})

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type.value, "at": self.at, "data": dict(self.data)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Notice:
        return cls(d["id"], EventType(d["type"]), d["at"], d["data"])


def notice_id(*parts: str) -> str:
    """A notice's id, derived from what it is about: the same facts, the same id."""
    return "evt_" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]


def _clause(event: Event, language: str) -> dict[str, Any]:
    """The cited clause as the visitor read it: policy, version, language, id, title, text."""
    d = event.data
    clause = d["clause"]
    return {
        "policy_id": d["policy_id"],
        "version": d["version"],
        "language": d.get("language", language),
        "clause_id": clause["id"],
        "title": clause["title"],
        "text": clause["text"],
    }


def bar_created(ban: Ban) -> Notice:
    data = {
        "bar_id": ban.id,
        "visitor_id": ban.visitor_id,
        "conversation_id": ban.conversation_id,
        "clause": {key: ban.clause[key] for key in ("id", "title", "text")},
        "by_address": ban.network is not None,
        "until": ban.until,
        "created_by": ban.created_by,
    }
    return Notice(notice_id(ban.id, "created"), EventType.BAR_CREATED, ban.created_at, data)


def bar_lifted(ban: Ban) -> Notice:
    """A bar lifted (never its lift reason: what staff wrote is erasable personal data)."""
    assert ban.lifted_at is not None, "only a lifted bar"
    data = {
        "bar_id": ban.id,
        "visitor_id": ban.visitor_id,
        "conversation_id": ban.conversation_id,
        "lifted_by": ban.lifted_by,
    }
    return Notice(notice_id(ban.id, "lifted"), EventType.BAR_LIFTED, ban.lifted_at, data)


def policy_published(version: PolicyVersion, languages: Sequence[str], at: datetime) -> Notice:
    """``languages`` of ``version`` were published just now (the version itself, or
    translations added to it)."""
    data = {
        "policy_id": version.policy_id,
        "version": version.version,
        "title": version.title,
        "effective": version.to_document()["effective"],
        "sha256": version.sha256,
        "languages": list(languages),
    }
    nid = notice_id(version.policy_id, str(version.version), *languages)
    return Notice(nid, EventType.POLICY_PUBLISHED, format_time(at), data)


def notices_of(t: Transition) -> list[Notice]:
    """What a committed action tells endpoints, in order (a closure before its bar).

    Derived from the transition alone; each id from the conversation, the event's seq
    and the notice's type, so one event's notice has one id wherever it is derived.
    """
    event, conv = t.event, t.conversation
    about = {"conversation_id": conv.id, "visitor_id": conv.visitor_id}
    found: list[Notice] = []

    def add(kind: EventType, **data: Any) -> None:
        nid = notice_id(conv.id, str(event.seq), kind)
        found.append(Notice(nid, kind, event.at, {**about, **data}))

    if event.type is Recorded.ACCEPTANCE:
        policy = conv.policy
        add(
            EventType.CONVERSATION_STARTED,
            policy={"policy_id": policy.policy_id, "version": policy.version,
                    "language": policy.language, "sha256": policy.sha256},
        )  # fmt: skip
    elif event.type is Recorded.RESOLVED:
        add(EventType.CONVERSATION_RESOLVED, agent_id=event.author.id)
    elif event.type is Recorded.WARNING:
        add(EventType.VISITOR_WARNED, agent_id=event.author.id,
            clause=_clause(event, conv.policy.language))  # fmt: skip
    elif event.type is Recorded.CLOSED:
        add(
            EventType.CONVERSATION_CLOSED, agent_id=event.author.id,
            clause=_clause(event, conv.policy.language),
            bar_id=t.ban.id if t.ban is not None else None,
        )  # fmt: skip
    if t.ban is not None:
        found.append(bar_created(t.ban))
    return found


def subscription(events: Sequence[str]) -> tuple[str, ...]:
    """The event types an endpoint takes: some of :class:`EventType`, or ``["*"]`` for all.

    Raises InvalidWebhook for none, an unknown type, or ``"*"`` beside others.
    """
    if not events:
        raise InvalidWebhook("events: name at least one event type, or ['*'] for all")
    known = {t.value for t in EventType}
    for name in events:
        if name != ALL and name not in known:
            raise InvalidWebhook(f"events: {name[:64]!r} is not an event type")
    if ALL in events and len(events) > 1:
        raise InvalidWebhook("events: '*' already means every event type; name it alone")
    return tuple(dict.fromkeys(events))


def endpoint_url(text: str) -> str:
    """An endpoint's URL: ``http://`` or ``https://``, with a host, no user or password in it
    (they would show in listings and the audit trail), no fragment. Raises InvalidWebhook."""
    url = text.strip()
    if len(url) > MAX_URL:
        raise InvalidWebhook(f"url: at most {MAX_URL} characters")
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if not port_ok or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhook(f"url: {url[:120]!r} is not an http:// or https:// URL with a host")
    if "@" in parts.netloc or parts.fragment or any(c.isspace() for c in url):
        raise InvalidWebhook("url: no user name, password, fragment or spaces in it")
    return url


@dataclass(frozen=True)
class Endpoint:
    """Where notices of ``events`` are POSTed, signed with ``secret`` (``whsec_…``)."""

    id: str
    url: str
    events: tuple[str, ...]
    secret: str
    created_at: str
    created_by: str
    description: str | None = None
    deleted_at: str | None = None

    def wants(self, notice: Notice) -> bool:
        return self.deleted_at is None and (ALL in self.events or notice.type in self.events)

    def to_dict(self) -> dict[str, Any]:
        """The stored record (with the secret)."""
        return {
            "id": self.id, "url": self.url, "events": list(self.events), "secret": self.secret,
            "created_at": self.created_at, "created_by": self.created_by,
            "description": self.description, "deleted_at": self.deleted_at,
        }  # fmt: skip

    def view(self) -> dict[str, Any]:
        """What admins are shown: everything but the secret."""
        shown = self.to_dict()
        del shown["secret"]
        return shown

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Endpoint:
        return cls(**{**d, "events": tuple(d["events"])})


def new_secret(random_bytes: bytes) -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` and base64 of 24+ bytes."""
    if len(random_bytes) < 24:
        raise ValueError("a webhook secret needs at least 24 random bytes")
    return "whsec_" + base64.b64encode(random_bytes).decode()
