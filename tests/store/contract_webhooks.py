"""The webhook parts of ``parley.store.base.Store``, run against every backend.

A backend's test module mixes :class:`WebhookContract` into its store contract
class (the same ``store`` and ``reopen`` fixtures).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

from contract import AGENT, T0, Reopen, start, versions
from contract_bars import barred

from parley.domain import conversation as rules
from parley.domain.deliveries import Attempt, DeliveryState
from parley.domain.transcript import format_time
from parley.domain.webhooks import Endpoint, EventType
from parley.store.base import Store

SECRET = "whsec_" + "A" * 32


def endpoint(n: int, *events: str) -> Endpoint:
    return Endpoint(f"whk_{n}", f"https://hooks.example/{n}", events or ("*",), SECRET,
                    format_time(T0 + timedelta(seconds=n)), "s_admin")  # fmt: skip


async def journaled(store: Store) -> list[str]:
    await store.settle()  # on Redis, conversations' notices are journaled from the outbox
    return [n.type.value for _, n in await store.notices(0, 100)]


async def resolve(store: Store, conversation_id: str, dedupe: str | None = None) -> None:
    await store.apply(conversation_id, lambda c: rules.resolve(c, AGENT, None, T0), dedupe=dedupe)


class WebhookContract:
    async def test_notices_are_journaled_with_the_actions_that_owe_them(
        self, store: Store, reopen: Reopen
    ) -> None:
        """Durability: a start, a closure with its bar, a resolution, each in its own commit;
        messages and a retried (deduplicated) action journal nothing more."""
        ban = await barred(store, 1, "v_w1", {"hours": 1})
        await start(store, "v_w2", "c_w20000000")
        await store.apply(
            "c_w20000000", lambda c: rules.visitor_message(c, "hi", "m1", T0), dedupe="v:m1"
        )
        await resolve(store, "c_w20000000", dedupe="agent:r")
        await resolve(store, "c_w20000000", dedupe="agent:r")
        expected = [
            "conversation.started", "conversation.closed", "bar.created",
            "conversation.started", "conversation.resolved",
        ]  # fmt: skip
        assert await journaled(store) == expected
        again = await reopen()
        try:
            found = await again.notices(0, 100)
            assert [n.type.value for _, n in found] == expected
            assert [p for p, _ in found] == [1, 2, 3, 4, 5]
            assert [p for p, _ in await again.notices(3, 1)] == [4]
        finally:
            await again.close()
        assert (await store.notices(0, 100))[2][1].data["bar_id"] == ban.id

    async def test_lifting_a_bar_and_publishing_journal_only_what_changed(
        self, store: Store
    ) -> None:
        """bar.lifted once however often it is lifted; policy.published once per version,
        and once more for languages added to it later."""
        ban = await barred(store, 2, "v_w3", {"hours": None})
        await store.lift_ban(ban.id, "s_admin", "appeal", T0)
        await store.lift_ban(ban.id, "s_admin", "appeal", T0)
        v1 = replace(versions()[0], translations=())
        assert await store.publish_policy(v1, T0)
        assert not await store.publish_policy(v1, T0)
        assert await store.publish_policy(versions()[0], T0)
        types = await journaled(store)
        assert types[-4:] == ["bar.created", "bar.lifted", "policy.published", "policy.published"]
        added = (await store.notices(0, 100))[-1][1]
        assert added.data["languages"] == list(versions()[0].languages[1:])

    async def test_endpoints_are_listed_until_deleted_and_kept_after(self, store: Store) -> None:
        await store.add_webhook(endpoint(1))
        await store.add_webhook(endpoint(2, "bar.created"))
        assert [e.id for e in await store.webhooks()] == ["whk_1", "whk_2"]
        deleted = await store.delete_webhook("whk_1", "2026-11-02T00:00:00.000Z")
        assert deleted is not None and deleted.deleted_at == "2026-11-02T00:00:00.000Z"
        again = await store.delete_webhook("whk_1", "2026-11-03T00:00:00.000Z")
        assert again is not None and again.deleted_at == "2026-11-02T00:00:00.000Z"
        assert [e.id for e in await store.webhooks()] == ["whk_2"]
        assert await store.webhook("whk_1") == deleted
        assert await store.delete_webhook("whk_9", "2026-11-02T00:00:00.000Z") is None
        assert await store.webhook("whk_9") is None

    async def test_each_notice_is_fanned_out_exactly_once(
        self, store: Store, reopen: Reopen
    ) -> None:
        """Fan-out: one delivery per notice per endpoint that wants it, even when two
        stores (two processes) fan out at once; a deleted endpoint gets none."""
        await store.add_webhook(endpoint(1))
        await store.add_webhook(endpoint(2, "conversation.closed"))
        await store.add_webhook(endpoint(3))
        await store.delete_webhook("whk_3", format_time(T0))
        for n in range(3):
            await barred(store, 10 + n, f"v_f{n}", {"hours": 1})
        await store.settle()
        other = await reopen()
        try:
            counts = await asyncio.gather(store.fan_out(T0, 4), other.fan_out(T0, 4))
            while await other.fan_out(T0, 4):
                pass
        finally:
            await other.close()
        assert sum(counts) <= 9 and await store.fan_out(T0, 4) == 0
        first = await store.deliveries("whk_1", None, 100)
        assert len(first.items) == 9 and first.next_cursor is None
        assert len({d.id for d in first.items}) == 9
        second = await store.deliveries("whk_2", None, 100)
        assert [d.notice.type for d in second.items] == [EventType.CONVERSATION_CLOSED] * 3
        assert (await store.deliveries("whk_3", None, 100)).items == []
        assert len(await store.due_deliveries(T0, 100)) == 12

    async def test_attempts_are_recorded_and_a_retry_is_due_later(self, store: Store) -> None:
        """The delivery log: every attempt kept; pending ones are due at their next time;
        a stale save (another dispatcher recorded first) stores nothing."""
        await store.add_webhook(endpoint(1))
        for n in range(3):
            await start(store, f"v_a{n}", f"c_a{n}0000000")
            if n > 0:
                await store.settle()
                await store.fan_out(T0, 100)
        found = await store.due_deliveries(T0, 100)
        by_conversation = {d.notice.data["conversation_id"]: d for d in found}
        due = [by_conversation[f"c_a{n}0000000"] for n in range(3)]
        assert len(found) == 3
        assert await store.due_deliveries(T0 - timedelta(seconds=1), 100) == []
        failed = due[0].tried(Attempt(format_time(T0), 500, None, 7), base=5)
        assert await store.save_delivery(failed)
        assert not await store.save_delivery(failed), "recorded once"
        delivered = due[1].tried(Attempt(format_time(T0), 204, None, 3), base=5)
        assert await store.save_delivery(delivered)
        assert [d.id for d in await store.due_deliveries(T0, 100)] == [due[2].id]
        later = await store.due_deliveries(T0 + timedelta(seconds=5), 100)
        assert {d.id for d in later} == {due[0].id, due[2].id}
        log = await store.deliveries("whk_1", None, 2)
        assert log.next_cursor is not None
        rest = await store.deliveries("whk_1", log.next_cursor, 2)
        assert len(rest.items) == 1 and rest.next_cursor is None
        stored = {d.id: d for d in [*log.items, *rest.items]}
        assert stored == {due[0].id: failed, due[1].id: delivered, due[2].id: due[2]}
        assert log.items[0] == due[2], "newest first: fanned out last"
        assert stored[due[0].id].attempts[0].status == 500
        assert stored[due[0].id].state is DeliveryState.PENDING
        assert not await store.save_delivery(delivered.tried(Attempt("x", 204, None, 1), 5)), (
            "a delivered one is done"
        )
