"""Agents' search of ended conversations, on every backend.

A backend's test module mixes :class:`EndedContract` into its store contract class.
"""

from __future__ import annotations

from datetime import timedelta

from contract import AGENT, T0, start, versions

from parley.domain import conversation as rules
from parley.domain import moderation
from parley.domain.conversation import Conversation
from parley.domain.transcript import format_time
from parley.store.base import EndedFilter, Store


async def end(store: Store, conversation_id: str, minutes: int, violation: bool = False) -> None:
    """End the conversation ``minutes`` after T0: resolved, or closed under clause 1.1."""
    at = T0 + timedelta(minutes=minutes)
    if violation:
        accepted = versions()[-1]
        await store.apply(
            conversation_id,
            lambda c: moderation.close_for_violation(c, accepted, AGENT, "1.1", None, at),
        )
    else:
        await store.apply(conversation_id, lambda c: rules.resolve(c, AGENT, None, at))
    await store.settle()


async def found(store: Store, where: EndedFilter, limit: int = 100) -> list[str]:
    """Every page of the search, followed by its cursors, as conversation ids."""
    ids: list[str] = []
    cursor = None
    while True:
        page = await store.ended_conversations(where, cursor, limit)
        assert len(page.items) <= limit
        ids += [c.id for c in page.items]
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def minute(n: int) -> str:
    return format_time(T0 + timedelta(minutes=n))


class EndedContract:
    async def seed(self, store: Store) -> None:
        """Visitor a: ended at minutes 10, 30 (closed), 30, and one still open; visitor b: 20."""
        for visitor_id, cid, ended in (
            ("v_enda", "c_ended_a1", 10),
            ("v_enda", "c_ended_a2", 30),
            ("v_enda", "c_ended_a3", 30),
            ("v_endb", "c_ended_b1", 20),
            ("v_enda", "c_ended_a4", None),
        ):
            await start(store, visitor_id, cid)
            if ended is not None:
                await end(store, cid, ended, violation=cid == "c_ended_a2")

    async def test_ended_conversations_come_latest_ended_first_ties_by_id(
        self, store: Store
    ) -> None:
        await self.seed(store)
        everything = ["c_ended_a3", "c_ended_a2", "c_ended_b1", "c_ended_a1"]
        assert await found(store, EndedFilter()) == everything, "the open one is not listed"
        for limit in (1, 2, 3):
            assert await found(store, EndedFilter(), limit) == everything, f"pages of {limit}"
        page = await store.ended_conversations(EndedFilter(), None, 10)
        closed = page.items[1]
        assert isinstance(closed, Conversation)
        assert (closed.state.value, closed.ended_at) == ("closed", minute(30))

    async def test_ended_conversations_filter_by_visitor_id_and_end_time(
        self, store: Store
    ) -> None:
        await self.seed(store)
        theirs = ["c_ended_a3", "c_ended_a2", "c_ended_a1"]
        assert await found(store, EndedFilter(visitor_id="v_enda")) == theirs
        assert await found(store, EndedFilter(visitor_id="v_enda"), 1) == theirs
        assert await found(store, EndedFilter(visitor_id="v_nobody")) == []
        assert await found(store, EndedFilter(conversation_id="c_ended_b1")) == ["c_ended_b1"]
        assert await found(store, EndedFilter(conversation_id="c_ended_a4")) == [], "open"
        assert await found(store, EndedFilter(conversation_id="c_unknown")) == []
        assert await found(store, EndedFilter("v_endb", "c_ended_a1")) == [], "not theirs"
        window = EndedFilter(since=minute(20), until=minute(30))
        assert await found(store, window) == ["c_ended_b1"], "since inclusive, until exclusive"
        assert await found(store, EndedFilter(since=minute(30))) == ["c_ended_a3", "c_ended_a2"]
        assert await found(store, EndedFilter(until=minute(20))) == ["c_ended_a1"]
        assert await found(store, EndedFilter(until=minute(20)), 1) == ["c_ended_a1"]
        mine_later = EndedFilter(visitor_id="v_enda", since=minute(11), until=minute(31))
        assert await found(store, mine_later, 1) == ["c_ended_a3", "c_ended_a2"]
        after_id = EndedFilter(conversation_id="c_ended_a1", since=minute(11))
        assert await found(store, after_id) == []

    async def test_a_cursor_naming_no_ended_conversation_ends_the_listing(
        self, store: Store
    ) -> None:
        await self.seed(store)
        assert (await store.ended_conversations(EndedFilter(), "999999", 10)).items == []
