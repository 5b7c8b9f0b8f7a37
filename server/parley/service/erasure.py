"""Erasing a conversation's personal fields, keeping every proof verifiable.

:func:`erase_conversation` is the one path by which personal data leaves a
transcript, whether a visitor asked (GDPR Art. 17) or a retention period ran
out. It works in two steps, each safe to interrupt:

1. each format-2 event with a field to erase is rewritten with that field erased
   (:func:`parley.domain.erasure.erase`), in its own compare-and-set on the stored
   record: the hash, and so the chain and every proof, is unchanged;
2. one ``erased`` event then records every erased field no earlier record names,
   with the basis and who erased it, and its audit entry, in one commit. Its dedupe
   key is derived from the fields it names, so two processes finishing the same
   erasure record it once.

A run killed between or during the steps leaves fields erased but unrecorded; the
next run erases what is left, then records those too. Nothing is half-erased in a
way that breaks verification: each rewrite keeps its event's hash.

A conversation under a legal hold is left untouched. Format-1 events (stored before
commitments) hash their values, so erasing one would break the chain: they are
reported as not erasable, never changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from parley.domain import erasure as rules
from parley.domain.audit import Actor
from parley.domain.transcript import Event, EventType
from parley.errors import ConversationNotFound
from parley.service.core import Core

#: How many times an event's rewrite is retried when another erasure changed it meanwhile.
REWRITE_ATTEMPTS = 5


@dataclass(frozen=True)
class ConversationErasure:
    """What :func:`erase_conversation` did to one conversation.

    ``held`` names the holds that kept it untouched (then nothing else is set).
    ``erased`` lists, by event, the fields the ``erased`` event at ``record_seq``
    records, with their commitments (what the chain still proves); empty with
    ``record_seq`` ``None`` when there was nothing left to erase. ``all_erased``
    lists every field of the conversation erased by now (this run or earlier ones),
    by event with the event's hash, and ``records`` the seqs of every ``erased``
    event. ``not_erasable`` lists the seqs of format-1 events that hold personal values.
    """

    conversation_id: str
    held: tuple[str, ...] = ()
    erased: tuple[dict[str, Any], ...] = ()
    record_seq: int | None = None
    not_erasable: tuple[int, ...] = ()
    all_erased: tuple[dict[str, Any], ...] = ()
    records: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "held_by": list(self.held),
            "erased": [dict(e) for e in self.erased],
            "record_seq": self.record_seq,
            "not_erasable": list(self.not_erasable),
            "all_erased": [dict(e) for e in self.all_erased],
            "records": list(self.records),
        }


async def erase_conversation(
    core: Core,
    conversation_id: str,
    *,
    basis: str,
    actor: Actor,
    fields: frozenset[str] | None = None,
) -> ConversationErasure:
    """Erase the personal fields (all, or those named in ``fields``) of every format-2 event
    of the conversation, and record the erasure (an ``erased`` event and its audit entry).

    Idempotent: fields already erased are skipped, and fields already recorded are not
    recorded again. Resumable: a run interrupted at any point is finished by the next.
    The store may still hold copies of the old values in its files: once a batch of
    erasures is done, call ``store.settle()`` then ``store.purge_erased(ids)``.
    Raises ConversationNotFound, or InvalidErasureBasis (nothing changed) for a blank or
    overlong basis.
    """
    text = rules.basis_text(basis)
    conv = await core.store.conversation(conversation_id)
    if conv is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    holds = await core.store.holds_on(conversation_id, conv.visitor_id)
    if holds:
        return ConversationErasure(conversation_id, held=tuple(h.id for h in holds))
    events = await core.store.events(conversation_id)
    not_erasable = tuple(e.seq for e in events if e.format == 1 and rules.personal_values(e))
    at = core.clock()
    for event in events:
        if event.format == 2 and rules.erasable(event, fields):
            await _erase_event(core, event, fields, text, actor, at)
    events = await core.store.events(conversation_id)
    owed = rules.unrecorded(events)
    listed: tuple[dict[str, Any], ...] = ()
    record_seq = None
    if owed:
        applied = await core.store.apply(
            conversation_id,
            lambda c: rules.record_erasure(c, owed, basis=text, by=actor, at=at),
            dedupe=_dedupe(owed),
        )
        await core.committed(applied)
        assert applied.event is not None
        record_seq = applied.event.seq
        by_seq = {e.seq: e for e in events}
        listed = tuple(
            {"seq": seq, "fields": {n: by_seq[seq].erased[n]["commitment"] for n in names}}
            for seq, names in sorted(owed.items())
        )
    records = {e.seq for e in events if e.type is EventType.ERASED}
    return ConversationErasure(
        conversation_id,
        erased=listed,
        record_seq=record_seq,
        not_erasable=not_erasable,
        all_erased=_all_erased(events),
        records=tuple(sorted(records | ({record_seq} if record_seq else set()))),
    )


async def _erase_event(
    core: Core, event: Event, fields: frozenset[str] | None, basis: str, actor: Actor, at: datetime
) -> None:
    """Rewrite ``event`` with its fields erased, over exactly the record read; re-read and
    try again if another erasure rewrote it meanwhile."""
    current: Event | None = event
    for _ in range(REWRITE_ATTEMPTS):
        assert current is not None
        todo = rules.erasable(current, fields)
        if not todo:
            return
        erased = rules.erase(current, todo, at=at, by=actor.id, basis=basis)
        try:
            await core.store.rewrite_event(erased, before=current)
            return
        except ValueError:
            found = await core.store.events(event.conversation_id, event.seq - 1, event.seq)
            current = found[0] if found else None
            if current is None or current.hash != event.hash:
                raise
    raise ValueError(f"event {event.seq} of {event.conversation_id} kept changing under erasure")


def _all_erased(events: list[Event]) -> tuple[dict[str, Any], ...]:
    """Every erased field of ``events``, by event: its hash and each field's commitment."""
    return tuple(
        {
            "seq": e.seq,
            "event_hash": e.hash,
            "fields": {name: r["commitment"] for name, r in sorted(e.erased.items())},
        }
        for e in events
        if e.erased
    )


def _dedupe(owed: dict[int, list[str]]) -> str:
    """The dedupe key of the record of exactly these erased fields."""
    names = ";".join(f"{seq}:{','.join(fields)}" for seq, fields in sorted(owed.items()))
    return "erasure-" + hashlib.sha256(names.encode()).hexdigest()[:32]
