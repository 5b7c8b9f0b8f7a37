"""The guarantees of ``parley.store.base.Store``, run against every backend.

A backend's test module subclasses :class:`StoreContract` and provides an
async ``store`` fixture (and ``reopen`` to open the same data again, and
``write_old_leaves``, see :mod:`contract_merkle`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from contract_merkle import MerkleContract, Reopen

from harness import POLICIES
from parley import policy_files
from parley.domain import assignment, moderation
from parley.domain import conversation as rules
from parley.domain.agent import Staff, StaffRole
from parley.domain.audit import Actor, AuditAction, AuditDraft
from parley.domain.bans import place
from parley.domain.chain import GENESIS, verify_links
from parley.domain.conversation import ClientContext, Conversation, audited
from parley.domain.policy import PolicyVersion
from parley.domain.transcript import Author, Event, Role, verify_chain
from parley.errors import (
    AlreadyAccepted,
    AlreadyAssigned,
    BadRequest,
    ConversationClosed,
    ConversationNotFound,
    PolicyConflict,
)
from parley.store.base import Applied, ClauseCount, Filter, Store

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
AGENT = Author(Role.AGENT, "s_agent", "Alice")
CLIENT = ClientContext("192.0.2.1", "pytest")


@functools.cache
def versions() -> tuple[PolicyVersion, ...]:
    """The repository's policy versions, read once: parsing and validating the files costs
    tens of milliseconds, and 200 starts at once would hold the event loop for seconds."""
    return tuple(sorted(policy_files.load_folder(POLICIES), key=lambda v: v.version))


async def start(store: Store, visitor_id: str, conversation_id: str) -> Applied:
    offered = versions()[-1]
    return await store.start_conversation(
        visitor_id,
        lambda previous: rules.start(
            conversation_id=conversation_id,
            visitor_id=visitor_id,
            previous=previous,
            offered=offered,
            answer=offered.ref,
            client=CLIENT,
            at=T0,
        ),
    )


async def say(store: Store, conversation_id: str, text: str, client_id: str) -> Applied:
    return await store.apply(
        conversation_id,
        lambda c: rules.visitor_message(c, text, client_id, T0),
        dedupe=f"visitor:{client_id}",
    )


def _never() -> rules.Transition:
    raise AssertionError("the agent had already joined")


class StoreContract(MerkleContract):
    async def test_publishing_is_idempotent_and_a_version_never_changes(self, store: Store) -> None:
        """Invariant 3 in the store: same text again is a no-op, different text is refused."""
        v1, v2 = versions()
        assert await store.publish_policy(v1, T0) is True
        assert await store.publish_policy(v2, T0) is True
        assert await store.publish_policy(v1, T0) is False
        changed = replace(v2, preamble=v2.preamble + " Changed.")
        with pytest.raises(PolicyConflict, match="already published"):
            await store.publish_policy(changed, T0)
        assert [p.sha256 for p in await store.policies()] == [v1.sha256, v2.sha256]

    async def test_a_language_may_be_added_to_a_published_version_but_never_changed(
        self, store: Store
    ) -> None:
        """Invariant 3 per language: a translation published later joins its version; a
        changed translation is refused and the stored one stays."""
        v1 = replace(versions()[0], translations=())  # published first in English only
        german = replace(v1, language="de", title="Verhaltensrichtlinie")
        assert await store.publish_policy(v1, T0) is True
        assert await store.publish_policy(v1.with_translations([german]), T0) is True
        assert await store.publish_policy(v1.with_translations([german]), T0) is False
        assert await store.publish_policy(v1, T0) is False
        changed = replace(german, preamble="Anders.")
        with pytest.raises(PolicyConflict, match="in 'de' was already published"):
            await store.publish_policy(v1.with_translations([changed]), T0)
        (stored,) = await store.policies()
        assert stored.languages == ("en", "de")
        assert stored.in_language("de").sha256 == german.sha256
        assert stored.in_language("de").governing_sha256 == v1.sha256

    async def test_visitors_are_found_by_token_hash_only(self, store: Store) -> None:
        await store.create_visitor("v_one", "hash-one", T0)
        assert await store.visitor_by_token("hash-one") == "v_one"
        assert await store.visitor_by_token("hash-two") is None

    async def test_a_visitor_record_keeps_when_it_was_created(self, store: Store) -> None:
        """Access requests (docs/compliance.md) tell the visitor since when we know them."""
        await store.create_visitor("v_since", "hash-since", T0)
        assert await store.visitor_created_at("v_since") == "2026-11-01T12:00:00.000Z"
        assert await store.visitor_created_at("v_unknown") is None

    async def test_a_conversation_starts_with_its_acceptance_as_event_one(
        self, store: Store
    ) -> None:
        applied = await start(store, "v_a", "c_aaaaaaaaaa")
        events = await store.events("c_aaaaaaaaaa")
        assert [e.seq for e in events] == [1]
        assert events[0] == applied.event
        assert events[0].data["text"] == versions()[-1].text
        assert await store.latest_conversation("v_a") == applied.conversation

    async def test_start_sees_the_visitors_latest_conversation(self, store: Store) -> None:
        await start(store, "v_b", "c_bbbbbbbbb1")
        with pytest.raises(AlreadyAccepted):
            await start(store, "v_b", "c_bbbbbbbbb2")
        assert await store.conversation("c_bbbbbbbbb2") is None
        assert await store.events("c_bbbbbbbbb2") == []

    async def test_events_are_numbered_without_gaps_and_read_in_order(self, store: Store) -> None:
        await start(store, "v_c", "c_cccccccccc")
        for i in range(10):
            await say(store, "c_cccccccccc", f"m{i}", f"id{i}")
        events = await store.events("c_cccccccccc")
        assert [e.seq for e in events] == list(range(1, 12))
        assert verify_chain(events) is None
        assert [e.seq for e in await store.events("c_cccccccccc", after_seq=4, until_seq=7)] == [
            5,
            6,
            7,
        ]

    async def test_a_used_dedupe_key_stores_nothing_and_returns_the_original(
        self, store: Store
    ) -> None:
        await start(store, "v_d", "c_dddddddddd")
        first = await say(store, "c_dddddddddd", "hello", "same")
        again = await say(store, "c_dddddddddd", "hello", "same")
        assert again.duplicate and again.event == first.event
        assert len(await store.events("c_dddddddddd")) == 2

    async def test_a_refused_decision_writes_nothing(self, store: Store) -> None:
        await start(store, "v_e", "c_eeeeeeeeee")

        def refuse(c: Conversation) -> rules.Transition:
            raise ConversationClosed("refused")

        with pytest.raises(ConversationClosed):
            await store.apply("c_eeeeeeeeee", refuse, dedupe="visitor:x")
        assert len(await store.events("c_eeeeeeeeee")) == 1
        assert (await say(store, "c_eeeeeeeeee", "now", "x")).event is not None

    async def test_unknown_conversation_is_not_found(self, store: Store) -> None:
        with pytest.raises(ConversationNotFound):
            await say(store, "c_nonexistent", "hi", "x")

    async def test_concurrent_writers_never_share_a_sequence_number(self, store: Store) -> None:
        await start(store, "v_f", "c_ffffffffff")
        await asyncio.gather(*(say(store, "c_ffffffffff", f"m{i}", f"id{i}") for i in range(40)))
        events = await store.events("c_ffffffffff")
        assert [e.seq for e in events] == list(range(1, 42))
        assert verify_chain(events) is None

    async def test_two_concurrent_closures_commit_exactly_one(self, store: Store) -> None:
        await start(store, "v_g", "c_gggggggggg")
        await store.apply("c_gggggggggg", lambda c: rules.agent_join(c, AGENT, T0))
        accepted = versions()[-1]

        async def close(clause: str) -> str:
            try:
                await store.apply(
                    "c_gggggggggg",
                    lambda c: moderation.close_for_violation(c, accepted, AGENT, clause, None, T0),
                )
            except ConversationClosed:
                return "refused"
            return "closed"

        assert sorted(await asyncio.gather(close("1.1"), close("1.2"))) == ["closed", "refused"]
        assert [e.type for e in await store.events("c_gggggggggg")].count("closed") == 1

    async def test_two_concurrent_claims_assign_exactly_one_and_it_reads_back(
        self, store: Store, reopen: Reopen
    ) -> None:
        await start(store, "v_claim", "c_claimclaim")
        bob = Author(Role.AGENT, "s_bob", "Bob")

        async def claim(who: Author) -> str:
            try:
                await store.apply("c_claimclaim", lambda c: assignment.claim(c, who, T0))
            except AlreadyAssigned:
                return "refused"
            return who.id

        outcomes = await asyncio.gather(claim(AGENT), claim(bob))
        assert outcomes.count("refused") == 1, "exactly one claim wins"
        [winner] = [o for o in outcomes if o != "refused"]
        assert [e.type for e in await store.events("c_claimclaim")] == ["acceptance", "assigned"]
        held = await store.conversation("c_claimclaim")
        assert held is not None and held.assignee is not None and held.assignee.id == winner
        listed = {c.id: c for c in await store.open_conversations()}
        assert listed["c_claimclaim"].assignee == held.assignee
        await store.close()
        again = await reopen()
        try:
            assert await again.conversation("c_claimclaim") == held
        finally:
            await again.close()

    async def test_open_conversations_lists_only_open_ones(self, store: Store) -> None:
        await start(store, "v_h", "c_hhhhhhhhh1")
        await start(store, "v_i", "c_hhhhhhhhh2")
        await store.apply(
            "c_hhhhhhhhh2", lambda c: rules.resolve(c, AGENT, None, T0 + timedelta(minutes=1))
        )
        assert [c.id for c in await store.open_conversations()] == ["c_hhhhhhhhh1"]

    async def test_staff_are_found_by_token_hash(self, store: Store) -> None:
        alice = Staff("s_alice", "Alice", StaffRole.AGENT, "2026-11-01T12:00:00.000Z")
        await store.add_staff(alice, "alice-hash")
        assert await store.staff_by_token("alice-hash") == alice
        assert await store.staff_by_token("nobody") is None
        assert await store.staff() == [alice]

    async def test_compliance_listings_page_through_everything_once(self, store: Store) -> None:
        offered = versions()[-1]
        ids = [f"c_page{i:06d}" for i in range(5)]
        for cid in ids:
            await start(store, "v_pager", cid)
            await store.apply(cid, lambda c: rules.resolve(c, AGENT, None, T0))
        seen: list[Event] = []
        cursor = None
        for expected in (2, 2, 1):
            page = await store.acceptances(Filter(visitor_id="v_pager"), cursor, 2)
            assert len(page.items) == expected
            seen += page.items
            cursor = page.next_cursor
        assert cursor is None
        assert [e.conversation_id for e in seen] == ids
        by_policy = await store.conversations_by_policy(
            offered.policy_id, offered.version, None, 10
        )
        assert [c.id for c in by_policy.items] == ids and by_policy.next_cursor is None
        for never_returned in ("not-a-cursor", "", "²", "-1", str(2**63), "9" * 40):
            with pytest.raises(BadRequest):
                await store.acceptances(Filter(visitor_id="v_pager"), never_returned, 2)
            with pytest.raises(BadRequest):
                await store.audit(never_returned, 2)

    async def test_everything_committed_survives_reopening(
        self, store: Store, reopen: Reopen
    ) -> None:
        await store.publish_policy(versions()[0], T0)
        await start(store, "v_j", "c_jjjjjjjjjj")
        await say(store, "c_jjjjjjjjjj", "remember me", "r")
        before = await store.events("c_jjjjjjjjjj")
        await store.close()
        again = await reopen()
        try:
            assert await again.events("c_jjjjjjjjjj") == before
            assert [p.version for p in await again.policies()] == [1]
        finally:
            await again.close()

    async def test_listings_filter_by_visitor_version_clause_and_time(self, store: Store) -> None:
        accepted = versions()[-1]
        for i, (visitor, clause) in enumerate([("v_x", "1.1"), ("v_y", "1.2"), ("v_x", "1.2")]):
            cid = f"c_filter{i:05d}"
            at = T0 + timedelta(days=i)
            await store.start_conversation(
                visitor,
                lambda previous, cid=cid, at=at, visitor=visitor: rules.start(
                    conversation_id=cid, visitor_id=visitor, previous=previous,
                    offered=accepted, answer=accepted.ref, client=CLIENT, at=at,
                ),
            )  # fmt: skip
            await store.apply(
                cid,
                lambda c, clause=clause, at=at: moderation.close_for_violation(
                    c, accepted, AGENT, clause, None, at + timedelta(days=2)
                ),
            )

        async def ids(page_of: Callable[[Filter], Awaitable[Any]], **where: Any) -> list[str]:
            page = await page_of(Filter(**where))
            return [e.conversation_id for e in page.items]

        def acceptances(f: Filter) -> Awaitable[Any]:
            return store.acceptances(f, None, 50)

        def closures(f: Filter) -> Awaitable[Any]:
            return store.closures(f, None, 50)

        assert await ids(acceptances, visitor_id="v_x") == ["c_filter00000", "c_filter00002"]
        assert await ids(acceptances, since="2026-11-02T00:00:00.000Z") == [
            "c_filter00001",
            "c_filter00002",
        ]
        assert await ids(acceptances, until="2026-11-02T00:00:00.000Z") == ["c_filter00000"]
        assert await ids(acceptances, policy_id="conduct", version=1) == []
        assert await ids(closures, clause_id="1.2") == ["c_filter00001", "c_filter00002"]
        # Closures are filtered on when they were closed (days 2 to 4), not on when they started.
        closed_since = "2026-11-04T00:00:00.000Z"
        assert await ids(closures, since=closed_since) == ["c_filter00001", "c_filter00002"]
        assert await ids(closures, until=closed_since) == ["c_filter00000"]
        assert await ids(acceptances, since=closed_since) == []
        assert await store.closure_counts(Filter(since=closed_since)) == [
            ClauseCount("conduct", accepted.version, "1.2", 2)
        ]
        closed = await store.closures(Filter(clause_id="1.1"), None, 50)
        assert closed.items[0].data["clause"]["id"] == "1.1"
        counts = await store.closure_counts(Filter())
        assert [(c.clause_id, c.count) for c in counts] == [("1.2", 2), ("1.1", 1)]
        assert await store.closure_counts(Filter(visitor_id="v_y")) == [
            ClauseCount("conduct", accepted.version, "1.2", 1)
        ]

    async def test_staff_revocation_is_recorded_once(self, store: Store) -> None:
        bob = Staff("s_bob", "Bob", StaffRole.AGENT, "2026-11-01T12:00:00.000Z")
        await store.add_staff(bob, "bob-hash")
        revoked = await store.revoke_staff("s_bob", T0)
        assert revoked is not None and revoked.revoked_at == "2026-11-01T12:00:00.000Z"
        again = await store.revoke_staff("s_bob", T0 + timedelta(hours=1))
        assert again is not None and again.revoked_at == revoked.revoked_at
        assert await store.staff_by_token("bob-hash") == revoked
        assert await store.revoke_staff("s_nobody", T0) is None

    async def test_the_audit_trail_is_one_unbroken_chain(self, store: Store) -> None:
        actor = Actor("s_alice", "Alice", "agent")
        drafts = [
            AuditDraft(actor, AuditAction.REPLIED, f"c_audit{i % 2}", details={"seq": i})
            for i in range(7)
        ]
        entries = await asyncio.gather(*(store.append_audit(d, T0) for d in drafts))
        assert sorted(e.seq for e in entries) == list(range(1, 8))
        page = await store.audit(None, 4)
        rest = await store.audit(page.next_cursor, 4)
        assert rest.next_cursor is None
        assert verify_links(page.items + rest.items, "audit entry") is None
        only = await store.audit(None, 50, "c_audit1")
        assert sorted(e.details["seq"] for e in only.items) == [1, 3, 5]
        thread = sorted(only.items, key=lambda e: e.seq)
        assert [e.thread_prev_hash for e in thread] == [GENESIS, thread[0].hash, thread[1].hash]
        assert await store.last_audit("c_audit1") == thread[-1]
        assert await store.last_audit("c_unaudited") is None

    async def test_a_crowd_of_audit_appends_all_land_on_one_chain(self, store: Store) -> None:
        """Many writers racing for the chain's head (agents joining at once) all succeed."""
        actor = Actor("s_crowd", "Crowd", "agent")
        n = 120
        drafts = [AuditDraft(actor, AuditAction.AGENT_JOINED, f"c_crowd{i}") for i in range(n)]
        entries = await asyncio.gather(*(store.append_audit(d, T0) for d in drafts))
        assert sorted(e.seq for e in entries) == list(range(1, n + 1))
        page = await store.audit(None, n)
        assert verify_links(page.items, "audit entry") is None

    async def test_a_bar_is_stored_with_its_closure_and_lifted_once(self, store: Store) -> None:
        accepted = versions()[-1]
        await start(store, "v_barred", "c_barred0000")
        ban = place(
            {"hours": 24, "ip": True}, ban_id="b_1", visitor_id="v_barred",
            visitor_ip="192.0.2.1", conversation_id="c_barred0000",
            clause={"id": "1.2", "title": "t", "text": "x"}, by="s_agent", at=T0,
        )  # fmt: skip

        def refuse(c: Conversation) -> rules.Transition:
            raise ConversationClosed("refused")

        with pytest.raises(ConversationClosed):
            await store.apply("c_barred0000", refuse)
        assert await store.bans() == [], "a refused closure places no bar"
        await store.apply(
            "c_barred0000",
            lambda c: replace(
                moderation.close_for_violation(c, accepted, AGENT, "1.2", None, T0), ban=ban
            ),
        )
        await store.settle()
        assert await store.bans() == [ban]
        lifted = await store.lift_ban("b_1", "s_admin", "appeal", T0 + timedelta(hours=1))
        assert lifted is not None and lifted.lift_reason == "appeal"
        again = await store.lift_ban("b_1", "s_other", "again", T0 + timedelta(hours=2))
        assert again == lifted
        assert await store.bans() == [lifted]
        assert await store.lift_ban("b_none", "s_admin", "x", T0) is None

    async def test_a_burst_of_writes_to_many_conversations_all_land(self, store: Store) -> None:
        """Under load every write commits (or waits its turn); none fails for lack of room.

        More writes at once than the Redis connection pool holds, and enough to
        fill several SQLite group commits.
        """
        n = 200
        ids = [f"c_burst{i:05d}" for i in range(n)]
        await asyncio.gather(*(start(store, f"v_burst{i}", c) for i, c in enumerate(ids)))
        said = await asyncio.gather(*(say(store, c, f"hello {c}", "m1") for c in ids))
        assert [a.event.seq for a in said if a.event] == [2] * n
        for c in ids:
            events = await store.events(c)
            assert [e.seq for e in events] == [1, 2]
            assert events[1].data["text"] == f"hello {c}"

    async def test_a_staff_action_commits_its_audit_entry_with_its_event(
        self, store: Store
    ) -> None:
        """One action, one commit: the event, its audit entry and its bar, or none of them."""
        await start(store, "v_audit", "c_audit00000")
        staff = Actor("s_agent", "Alice", "agent")

        def join(c: Conversation) -> rules.Transition:
            return audited(
                rules.agent_join(c, AGENT, T0) or _never(), staff, AuditAction.AGENT_JOINED
            )

        def refused(c: Conversation) -> rules.Transition:
            audited(rules.agent_join(c, AGENT, T0) or _never(), staff, AuditAction.AGENT_JOINED)
            raise ConversationClosed("refused after deciding")

        with pytest.raises(ConversationClosed):
            await store.apply("c_audit00000", refused)
        joined = await store.apply("c_audit00000", join)
        assert joined.event is not None
        await store.settle()
        entries = (await store.audit(None, 50, "c_audit00000")).items
        assert [(e.action, e.details["seq"]) for e in entries] == [
            (AuditAction.AGENT_JOINED, joined.event.seq)
        ], "exactly one audit entry, for the committed event; none for the refused one"
        assert entries[0].at == joined.event.at
        assert verify_links((await store.audit(None, 50)).items, "audit entry") is None

    async def test_a_stale_snapshot_is_decided_again_never_overwritten(
        self, store: Store, reopen: Reopen
    ) -> None:
        """Two processes write one conversation: whoever holds an old snapshot decides again."""
        await start(store, "v_race", "c_race000000")
        await say(store, "c_race000000", "from A, first", "a1")  # A now knows seq 2
        other = await reopen()
        try:
            await say(other, "c_race000000", "from B", "b1")  # seq 3, behind A's back
            seen: list[int] = []

            def message(c: Conversation) -> rules.Transition:
                seen.append(c.last_seq)
                return rules.visitor_message(c, "from A, second", "a2", T0)

            applied = await store.apply("c_race000000", message, dedupe="visitor:a2")
            assert applied.event is not None and applied.event.seq == 4
            assert seen[-1] == 3, "the last decision was made on the fresh snapshot"
            events = await other.events("c_race000000")
            assert [e.data.get("text") for e in events[1:]] == [
                "from A, first", "from B", "from A, second"
            ]  # fmt: skip
            assert verify_chain(events) is None
            # A duplicate is still recognised, whichever process holds which snapshot.
            again = await other.apply("c_race000000", message, dedupe="visitor:a2")
            assert again.duplicate and again.event == applied.event
        finally:
            await other.close()

    async def test_a_remembered_snapshot_that_lags_never_refuses_a_valid_action(
        self, store: Store, reopen: Reopen
    ) -> None:
        """The agent joined through another process; replying here must not say NotJoined."""
        await start(store, "v_lag", "c_lag0000000")
        await say(store, "c_lag0000000", "hello", "m1")  # this process remembers seq 2
        other = await reopen()
        try:
            joined = await other.apply("c_lag0000000", lambda c: rules.agent_join(c, AGENT, T0))
            assert joined.event is not None
            replied = await store.apply(
                "c_lag0000000",
                lambda c: rules.agent_reply(c, AGENT, "hi", "r1", T0),
                dedupe="agent:s_agent:r1",
            )
            assert replied.event is not None and replied.event.seq == 4
        finally:
            await other.close()

    async def test_heads_that_moved_are_listed_until_anchored_at_their_seq(
        self, store: Store
    ) -> None:
        await start(store, "v_moved", "c_moved00000")
        moved = await store.moved_heads(10)
        assert [c.id for c in moved] == ["c_moved00000"]
        assert await store.moved_head_count() == 1
        await say(store, "c_moved00000", "later", "m1")  # moves past seq 1
        await store.mark_anchored("c_moved00000", 1)
        assert [c.last_seq for c in await store.moved_heads(10)] == [2], "moved since: kept"
        assert await store.moved_head_count() == 1
        await store.mark_anchored("c_moved00000", 2)
        assert await store.moved_heads(10) == []
        assert await store.moved_head_count() == 0
