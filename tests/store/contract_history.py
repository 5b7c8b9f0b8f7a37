"""A visitor's earlier conversations in one query, on every backend.

A backend's test module mixes :class:`HistoryContract` into its store contract class.
"""

from __future__ import annotations

from contract import AGENT, T0, say, start, versions

from parley.domain import conversation as rules
from parley.domain import moderation
from parley.store.base import Store


async def ids_before(store: Store, visitor_id: str, conversation_id: str, limit: int) -> list[str]:
    past = await store.earlier_conversations(visitor_id, conversation_id, limit)
    return [p.conversation.id for p in past]


class HistoryContract:
    async def test_earlier_conversations_come_newest_first_with_warnings_and_closure(
        self, store: Store
    ) -> None:
        accepted = versions()[-1]
        closed, resolved, current = "c_hist0000001", "c_hist0000002", "c_hist0000003"
        await start(store, "v_hist", closed)
        await store.apply(closed, lambda c: rules.agent_join(c, AGENT, T0))
        rude = (await say(store, closed, "rude", "m1")).event
        assert rude is not None
        for note in ("first", "second"):
            await store.apply(
                closed,
                lambda c, note=note: moderation.warn(c, accepted, AGENT, "4.1", note, [rude], T0),
            )
        await say(store, closed, "ruder", "m2")
        await store.apply(
            closed, lambda c: moderation.close_for_violation(c, accepted, AGENT, "1.1", None, T0)
        )
        await start(store, "v_hist", resolved)
        await store.apply(resolved, lambda c: rules.resolve(c, AGENT, None, T0))
        await start(store, "v_hist", current)
        await start(store, "v_elsewhere", "c_hist_other0")

        past = await store.earlier_conversations("v_hist", current, 20)
        assert [p.conversation for p in past] == [
            await store.conversation(resolved),
            await store.conversation(closed),
        ]
        assert past[0].moderation == []
        events = await store.events(closed)
        assert past[1].moderation == [e for e in events if e.type in ("warning", "closed")]
        assert [e.type for e in past[1].moderation] == ["warning", "warning", "closed"]

        assert await ids_before(store, "v_hist", current, 1) == [resolved]
        assert await ids_before(store, "v_hist", resolved, 20) == [closed]
        assert await ids_before(store, "v_hist", closed, 20) == []
        assert await ids_before(store, "v_hist", "c_hist_other0", 20) == [], "not theirs"
        assert await ids_before(store, "v_hist", "c_nonexistent", 20) == []
