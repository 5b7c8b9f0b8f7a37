"""Retention: personal fields erased once their retention class's period has run out.

The classes (``PARLEY_RETENTION``, :class:`parley.config.Retention`) are ended
conversations by how they ended — ``resolved``, ``closed`` (for a violation),
``abandoned`` — each due its period after it ended, and ``bars``, due their
period after they stopped being in force (lifted, or ran out): a bar's address
and lift reason are erased (:func:`parley.domain.bans.erase`) with an audit
entry, in one commit; a bar in force is never due. A due conversation is erased
by :func:`parley.service.erasure.erase_conversation` (every personal field of its
events; the accepted policy text, clauses, ids, times and hashes stay, and so do
the proofs), then marked erased in the store so that it leaves the selection.
A conversation (or a bar) under a legal hold is never due; once the hold is lifted it is
due again at the next sweep.

A sweep is safe in every process at once: one lease (:meth:`Store.take_lease`)
lets a single process sweep at a time and the others skip their turn, and an
erasure is idempotent, so a lease that ran out under a slow sweep costs repeated
reads, never a second erasure record. A sweep killed at any point resumes at the
next one: a conversation erased but not yet marked is selected again, and
:func:`erase_conversation` finishes it (or finds nothing left) before it is marked.
A sweep that erased anything then removes the copies the store's files still hold
(:meth:`Store.purge_erased`: SQLite's write-ahead log, Redis's outbox records and AOF).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime

from parley.config import Retention, period_text
from parley.domain import bans
from parley.domain.audit import PARLEY, AuditAction, AuditDraft
from parley.domain.bans import Ban
from parley.domain.conversation import Conversation, ConversationState
from parley.domain.transcript import format_time
from parley.service.core import Core, new_id
from parley.service.erasure import erase_conversation

log = logging.getLogger("parley.retention")

#: The retention classes of conversations, by how they ended.
CONVERSATION_CLASSES = {
    "resolved": ConversationState.RESOLVED,
    "closed": ConversationState.CLOSED,
    "abandoned": ConversationState.ABANDONED,
}
#: The lease one sweeping process holds, and for how long without renewal: a process
#: killed while sweeping keeps the others waiting that long at most.
LEASE = "retention-sweep"
LEASE_SECONDS = 15.0
#: Conversations read from the selection at a time.
PAGE = 100


@dataclass
class ClassSweep:
    """One retention class in one sweep: what was due, and what was erased of it."""

    name: str
    period: str
    #: Conversations (or bars) that ended before this time are due.
    ended_before: str
    due: list[str] = field(default_factory=list)
    erased: list[str] = field(default_factory=list)
    #: Due when selected, but a hold placed meanwhile kept them: left as they are.
    held: list[str] = field(default_factory=list)


@dataclass
class Sweep:
    """What one sweep (or dry run) found and did."""

    at: str
    dry_run: bool
    #: False when another process held the lease: this one did nothing.
    ran: bool = True
    #: False when the lease was lost part way (another process carries on).
    complete: bool = True
    classes: list[ClassSweep] = field(default_factory=list)


class _Lease:
    """This sweep's hold on :data:`LEASE`, renewed a third of the way through."""

    def __init__(self, core: Core, holder: str) -> None:
        self.core = core
        self.holder = holder
        self.renewed: float | None = None

    async def keep(self) -> bool:
        """Take or renew the lease when due; ``False`` if another process has it."""
        if self.renewed is not None and time.monotonic() - self.renewed < LEASE_SECONDS / 3:
            return True
        if not await self.core.store.take_lease(
            LEASE, self.holder, self.core.clock(), LEASE_SECONDS
        ):
            return False
        self.renewed = time.monotonic()
        return True


def basis(name: str, period: str) -> str:
    """The basis an erasure by retention records."""
    return f"retention: {name} conversations are kept {period} after they end (PARLEY_RETENTION)"


def _classes(retention: Retention, now: datetime) -> list[ClassSweep]:
    periods = retention.periods()
    return [
        ClassSweep(name, period_text(p), format_time(now - p))
        for name in (*CONVERSATION_CLASSES, "bars")
        if (p := periods[name]) is not None
    ]


async def _bars_due(core: Core, c: ClassSweep) -> AsyncIterator[list[Ban]]:
    """The ended bars due, page by page, without those a hold covers."""
    cursor = None
    while True:
        page = await core.store.bars_due(c.ended_before, cursor, PAGE)
        yield [
            b for b in page.items if not await core.store.holds_on(b.conversation_id, b.visitor_id)
        ]
        if (cursor := page.next_cursor) is None:
            return


async def _erase_bar(core: Core, ban: Ban, c: ClassSweep) -> None:
    """Erase one bar's personal fields, with its audit entry, in one commit (once)."""
    at = core.clock()
    text = f"retention: bars are kept {c.period} after they end (PARLEY_RETENTION)"
    erased = bans.erase(ban, at=at, by=PARLEY.id, basis=text)
    details = {"ban_id": ban.id, "fields": list(bans.PERSONAL), "basis": text}
    audit = AuditDraft(PARLEY, AuditAction.ERASED, ban.conversation_id, details=details)
    if await core.store.erase_bar(erased, audit, at):
        c.erased.append(ban.id)


async def _due(core: Core, c: ClassSweep) -> AsyncIterator[list[Conversation]]:
    """The conversations due in class ``c``, page by page."""
    cursor = None
    while True:
        page = await core.store.conversations_due(
            CONVERSATION_CLASSES[c.name], c.ended_before, cursor, PAGE
        )
        yield page.items
        if (cursor := page.next_cursor) is None:
            return


async def dry_run(core: Core, retention: Retention) -> Sweep:
    """What a sweep now would erase, by class; reads only, changes nothing (no audit entry,
    no lease)."""
    report = Sweep(format_time(core.clock()), dry_run=True)
    for c in _classes(retention, core.clock()):
        if c.name == "bars":
            async for found in _bars_due(core, c):
                c.due += [b.id for b in found]
        else:
            async for items in _due(core, c):
                c.due += [conv.id for conv in items]
        report.classes.append(c)
    return report


async def sweep(core: Core, retention: Retention) -> Sweep:
    """Erase every due conversation of every class with a period, unless another process
    is sweeping (then ``ran`` is false and nothing is done)."""
    now = core.clock()
    report = Sweep(format_time(now), dry_run=False)
    lease = _Lease(core, new_id("sweep"))
    if not await lease.keep():
        report.ran = False
        return report
    try:
        for c in _classes(retention, now):
            report.classes.append(c)
            if not await _sweep_class(core, c, lease):
                report.complete = False
                break
        if any(c.erased for c in report.classes):
            await core.store.settle()
            swept = [i for c in report.classes if c.name != "bars" for i in c.erased]
            await core.store.purge_erased(swept)
        return report
    finally:
        await core.store.release_lease(LEASE, lease.holder)


async def _sweep_class(core: Core, c: ClassSweep, lease: _Lease) -> bool:
    """Erase what is due in class ``c``; ``False`` if the lease was lost part way."""
    if c.name == "bars":
        async for found in _bars_due(core, c):
            for ban in found:
                if not await lease.keep():
                    return False
                c.due.append(ban.id)
                await _erase_bar(core, ban, c)
        return True
    async for items in _due(core, c):
        for conv in items:
            if not await lease.keep():
                return False
            c.due.append(conv.id)
            done = await erase_conversation(
                core, conv.id, basis=basis(c.name, c.period), actor=PARLEY
            )
            if done.held:
                c.held.append(conv.id)
                continue
            await core.store.mark_erased(conv, core.clock())
            c.erased.append(conv.id)
    return True


async def sweep_periodically(core: Core, retention: Retention, interval: float) -> None:
    """Sweep at start and then every ``interval`` seconds, in every process (see above).

    While another process holds the lease, try again once it would have run out (or at
    the interval, if sooner): a sweeper killed part way is taken over, not waited for.
    """
    while True:
        wait = interval
        try:
            report = await sweep(core, retention)
            if not report.ran or not report.complete:
                wait = min(interval, LEASE_SECONDS)
            erased = sum(len(c.erased) for c in report.classes)
            if erased:
                log.info("the retention sweep erased %d conversations and bars", erased)
        except Exception:
            log.exception("the retention sweep failed; it resumes at the next interval")
        await asyncio.sleep(wait)
