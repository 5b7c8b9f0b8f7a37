"""Erasure on request (GDPR Art. 17): a visitor's personal data erased everywhere, and the
signed certificate that says what was erased.

:func:`erase_visitor` erases, through :func:`~parley.service.erasure.erase_conversation`,
every conversation of the visitor a legal hold does not keep; then what is personal in the
bars placed on them (:func:`parley.domain.bans.erased`: a bar in force stays, it is a
safety measure); then asks the store to remove the erased bytes from its files
(:meth:`~parley.store.base.Store.purge_erased`); then audits the request and signs the
certificate (:mod:`parley.domain.certificate`). Each step is safe to repeat, so a request
interrupted anywhere is finished by asking again.
"""

from __future__ import annotations

from typing import Any

from parley.domain import bans, certificate
from parley.domain.anchor import public_bytes
from parley.domain.audit import Actor, AuditAction, AuditDraft
from parley.domain.erasure import basis_text
from parley.errors import VisitorNotFound
from parley.service.core import Core
from parley.service.erasure import ConversationErasure, erase_conversation
from parley.store.base import MAX_PAGE, Filter


async def conversations_of(core: Core, visitor_id: str) -> list[str]:
    """Every conversation of the visitor, oldest first, read in pages."""
    found: list[str] = []
    cursor = None
    while True:
        page = await core.store.acceptances(Filter(visitor_id=visitor_id), cursor, MAX_PAGE)
        found += [a.conversation_id for a in page.items]
        if (cursor := page.next_cursor) is None:
            return found


async def erase_visitor(core: Core, visitor_id: str, basis: str, actor: Actor) -> dict[str, Any]:
    """Erase ``visitor_id``'s personal data everywhere a hold allows; return the signed
    certificate (``{"certificate", "signature"}``).

    Raises InvalidErasureBasis or VisitorNotFound (unknown to the store), having changed
    nothing.
    """
    ids = await conversations_of(core, visitor_id)
    if not ids and await core.store.visitor_created_at(visitor_id) is None:
        raise VisitorNotFound(f"no visitor {visitor_id[:64]!r} is known to this server")
    text = basis_text(basis)
    done = [await erase_conversation(core, cid, basis=text, actor=actor) for cid in ids]
    # Bars placed with a closure reach the bars' records through the outbox (Redis).
    await core.store.settle()
    now = core.clock()
    bars = []
    for bar in await core.store.bans():
        if bar.visitor_id != visitor_id:
            continue
        cleared = bans.erased(bar, now)
        if cleared != bar and await core.store.rewrite_bar(bar, cleared):
            bars.append(bar.id)
    await core.store.purge_erased(ids)
    held = [{"conversation_id": d.conversation_id, "holds": list(d.held)} for d in done if d.held]
    details = {"visitor_id": visitor_id, "basis": text, "conversations": len(ids),
               "held": len(held), "bars": len(bars)}  # fmt: skip
    entry = await core.audit(AuditDraft(actor, AuditAction.VISITOR_ERASED, details=details))
    signed = certificate.body(
        visitor_id=visitor_id,
        basis=text,
        by=actor,
        issued_at=core.clock(),
        audit_seq=entry.seq,
        public_key=public_bytes(core.key.public_key()),
        conversations=[_certified(d) for d in done if not d.held],
        held=held,
        bars=bars,
    )
    return certificate.issue(core.key, signed)


def _certified(done: ConversationErasure) -> dict[str, Any]:
    return {
        "conversation_id": done.conversation_id,
        "erased": [dict(e) for e in done.all_erased],
        "records": list(done.records),
        "not_erasable": list(done.not_erasable),
    }
