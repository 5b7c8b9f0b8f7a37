"""Access requests (GDPR Art. 15): everything Parley stores about one visitor, for them.

:func:`export` gathers, through the store's interface (so every backend answers
alike), the visitor's record, every conversation with its whole transcript, the
acceptance with the exact text accepted and what was recorded with it, the
warnings and closures with the clauses' texts, the e-mail addresses left in away
mode, the staff actions on those conversations, and the bars that concern the
visitor. It reads in pages of :data:`~parley.store.base.MAX_PAGE` and leaves
nothing out: a visitor with many conversations gets all of them.

What it never holds: the visitor's resume token or its hash (a credential, not
information about them), and another visitor's data. A bar placed on another
visitor that also covers an address this visitor used is shown without that
visitor's id, conversation or the reason it was lifted.

The copy is :data:`FORMAT` (``docs/compliance.md``, "Access requests"); making
one is audited (``visitor_exported``) with who asked for it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from parley.domain.audit import Actor, AuditAction, AuditDraft
from parley.domain.bans import Ban
from parley.domain.transcript import ENDINGS, Event, EventType
from parley.errors import VisitorNotFound
from parley.service.compliance import acceptance_record
from parley.service.core import Core
from parley.store.base import MAX_PAGE, Filter

FORMAT = "parley-access/1"
FORMATS = ("json", "html")

#: Fields of a bar placed on someone else that are that person's or their conversation's.
OTHERS_BAR_FIELDS = ("visitor_id", "conversation_id", "lift_reason")


def _citation(event: Event) -> dict[str, Any]:
    """A warning or a closure: the clause (exact text), who, when, the note, the quotes."""
    d = event.data
    return {
        "seq": event.seq,
        "at": event.at,
        "type": event.type.value,
        "policy_id": d.get("policy_id"),
        "version": d.get("version"),
        "clause": dict(d["clause"]),
        "note": d.get("note"),
        "messages": list(d.get("messages") or []),
        "notice": d.get("notice"),
        "agent": {"id": event.author.id, "name": event.author.name},
    }


async def _audit_of(core: Core, conversation_id: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = await core.store.audit(cursor, MAX_PAGE, conversation_id)
        entries += [e.to_dict() for e in page.items]
        if (cursor := page.next_cursor) is None:
            return entries


async def _conversation(core: Core, acceptance: Event) -> dict[str, Any]:
    cid = acceptance.conversation_id
    conv = await core.store.conversation(cid)
    assert conv is not None, f"an acceptance of conversation {cid}, which the store lacks"
    events = await core.store.events(cid, 0, conv.last_seq)
    ending = next((e for e in events if e.type in ENDINGS), None)
    return {
        "conversation": conv.to_dict(),
        "acceptance": acceptance_record(acceptance, with_text=True),
        "transcript": [e.to_dict() for e in events],
        "warnings": [_citation(e) for e in events if e.type is EventType.WARNING],
        "closure": _citation(ending) if ending and ending.type is EventType.CLOSED else None,
        "ending": ending.to_dict() if ending else None,
        "contacts": [
            {"seq": e.seq, "at": e.at, "email": e.data["email"]}
            for e in events
            if e.type is EventType.CONTACT_LEFT
        ],
        "audit": await _audit_of(core, cid),
    }


def _covers(network: str | None, addresses: Iterable[str]) -> list[str]:
    """The addresses among ``addresses`` a bar's network holds."""
    if network is None:
        return []
    net = ipaddress.ip_network(network)
    found = []
    for ip in addresses:
        try:
            if ipaddress.ip_address(ip) in net:
                found.append(ip)
        except ValueError:
            continue
    return found


def bars_about(bars: Iterable[Ban], visitor_id: str, addresses: set[str]) -> list[dict[str, Any]]:
    """The bars on ``visitor_id``, and those on a network holding one of ``addresses`` (the
    ones the visitor's acceptances recorded), lifted and expired ones too, oldest first.

    A bar placed on another visitor is shown without what is theirs
    (:data:`OTHERS_BAR_FIELDS`).
    """
    found = []
    for bar in bars:
        covered = _covers(bar.network, addresses)
        own = bar.visitor_id == visitor_id
        if not own and not covered:
            continue
        record = bar.to_dict()
        if not own:
            for name in OTHERS_BAR_FIELDS:
                record.pop(name)
        found.append({**record, "on_you": own, "your_addresses": sorted(covered)})
    return found


async def export(
    core: Core, visitor_id: str, actor: Actor, form: str, page_size: int = MAX_PAGE
) -> dict[str, Any]:
    """Everything stored about ``visitor_id`` as :data:`FORMAT`, audited as made by ``actor``
    in ``form`` (one of :data:`FORMATS`); conversations are read ``page_size`` at a time.

    Raises :class:`~parley.errors.VisitorNotFound` (nothing recorded) when the
    store holds neither a record nor a conversation of that visitor.
    """
    # Bars placed with a closure reach their index through the outbox (Redis).
    await core.store.settle()
    created_at = await core.store.visitor_created_at(visitor_id)
    conversations = []
    cursor = None
    while True:
        page = await core.store.acceptances(Filter(visitor_id=visitor_id), cursor, page_size)
        conversations += [await _conversation(core, a) for a in page.items]
        if (cursor := page.next_cursor) is None:
            break
    if created_at is None and not conversations:
        raise VisitorNotFound(f"no visitor {visitor_id[:64]!r} is known to this server")
    addresses = {c["acceptance"]["ip"] for c in conversations if c["acceptance"].get("ip")}
    bars = bars_about(await core.store.bans(), visitor_id, addresses)
    zones = [c["acceptance"].get("time_zone") for c in conversations]
    details = {"visitor_id": visitor_id, "format": form, "conversations": len(conversations)}
    entry = await core.audit(AuditDraft(actor, AuditAction.VISITOR_EXPORTED, details=details))
    return {
        "format": FORMAT,
        "generated_at": entry.at,
        "generated_by": dict(entry.actor),
        "audit_seq": entry.seq,
        "visitor": {"id": visitor_id, "created_at": created_at},
        "time_zone": next((z for z in reversed(zones) if z), None),
        "conversations": conversations,
        "bars": bars,
    }


def filename(visitor_id: str, form: str) -> str:
    """The file name a copy is offered under: the id's safe characters only."""
    safe = "".join(ch for ch in visitor_id if ch.isascii() and (ch.isalnum() or ch in "_-"))
    return f"parley-access-{safe[:64] or 'visitor'}.{form}"
