"""Ending the conversations whose visitor has gone for good (PARLEY_ABANDON_AFTER).

Every process sweeps: an open conversation with no widget connected (in any
process) is marked gone, once — the first mark wins — and once it has been
gone for ``after`` seconds it gets an ``abandoned`` event. The store's commit
serialises the conversation, so when two processes both decide, the second
finds it ended and records nothing (:func:`parley.domain.conversation.abandon`).
A visitor who comes back in time clears the mark.
"""

from __future__ import annotations

import asyncio
import logging

from parley.domain import conversation as rules
from parley.domain.transcript import format_time, parse_time
from parley.errors import StoreUnavailable
from parley.service import evidence
from parley.service.core import Core

log = logging.getLogger("parley.abandon")

#: The longest pause between two sweeps; shorter when ``after`` is short.
MAX_INTERVAL = 10.0


def interval(after: float) -> float:
    return min(max(after / 4, 0.05), MAX_INTERVAL)


async def abandon_gone(core: Core, after: float) -> None:
    """Sweep every :func:`interval` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval(after))
        try:
            await sweep(core, after)
        except StoreUnavailable as e:
            log.warning("could not look for abandoned conversations (%s); retrying", e)
        except Exception:
            log.exception("could not look for abandoned conversations; retrying")


async def sweep(core: Core, after: float) -> None:
    """Mark newly gone visitors' conversations; abandon those gone for ``after`` seconds."""
    presence = core.presence.store
    now = core.clock()
    at = now.timestamp()
    here = (await core.presence.read()).visitors
    marks = await presence.live("gone", at)
    # A mark outlives the wait, and a sweep or two more, whoever set it.
    keep = after * 2 + 60
    for conv in await core.store.open_conversations():
        mark = marks.get(conv.id)
        if conv.id in here:
            if mark is not None:
                await presence.drop("gone", conv.id)
        elif mark is None:
            since = {"since": format_time(now)}
            await presence.put("gone", conv.id, since, at, keep, only_new=True)
        elif at - parse_time(mark["since"]).timestamp() >= after:
            await abandon(core, conv.id, mark["since"])


async def abandon(core: Core, conversation_id: str, gone_since: str) -> None:
    """Record the abandonment (nothing if the conversation ended meanwhile), announce, anchor."""
    at = core.clock()
    applied = await core.store.apply(conversation_id, lambda c: rules.abandon(c, gone_since, at))
    if applied.event is None:
        return
    await core.store.settle()
    await core.committed(applied)
    await evidence.anchor(core, [applied.conversation])
    await core.presence.store.drop("gone", conversation_id)
