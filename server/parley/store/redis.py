"""The Redis store, for many server processes sharing one Redis.

Same guarantees as every :class:`~parley.store.base.Store`; how they are kept
here is described in :mod:`parley.store.redis_db`. Durability is Redis's: with
``appendonly yes`` and ``appendfsync always`` an acknowledged write survives a
Redis restart (``docs/deployment.md`` measures what that costs).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from redis.exceptions import RedisError

from parley.bus import messages
from parley.bus.messages import envelope
from parley.domain import policy as policy_rules
from parley.domain.agent import Staff, StaffRole
from parley.domain.conversation import Conversation, Transition
from parley.domain.policy import PolicyVersion
from parley.domain.transcript import Event, format_time
from parley.domain.webhooks import notices_of, policy_published
from parley.errors import ConversationError, ConversationNotFound, StoreUnavailable
from parley.store.base import Applied, Store, dumps
from parley.store.redis_bans import RedisBans
from parley.store.redis_canned import RedisCanned
from parley.store.redis_counts import ClosureCounts
from parley.store.redis_db import (
    ALL,
    CONVERSATION_N,
    MAX_ATTEMPTS,
    OPEN,
    POLICIES,
    STAFF,
    STAFF_TOKENS,
    VISITOR_TOKENS,
    VISITORS,
    Commit,
    conv_key,
    migrate_layout,
    outbox_key,
    policy_index,
    shard,
    visitor_index,
)
from parley.store.redis_erasure import RedisErasure
from parley.store.redis_holds import RedisHolds
from parley.store.redis_merkle import RedisMerkle
from parley.store.redis_outbox import COMMIT, UNANCHORED, UNMARK, record
from parley.store.redis_records import conversation_of
from parley.store.redis_retention import RedisRetention
from parley.store.redis_webhooks import JOURNAL, RedisWebhooks

#: HSET a field only if it still holds the value it was read with (compare and set), and
#: then append ARGV[4] to the list KEYS[2] (the webhook journal).
REPLACE_FIELD = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('RPUSH', KEYS[2], ARGV[4])
return 1
"""

#: HSETNX, and if the field was new append ARGV[3] to the list KEYS[2] (the webhook journal).
ADD_FIELD = """
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[3])
return 1
"""

#: Open conversations' snapshots one process keeps, at most.
SNAPSHOTS = 10_000

log = logging.getLogger("parley.store")


def _staff(raw: str | None) -> Staff | None:
    if raw is None:
        return None
    d = json.loads(raw)
    return Staff(d["id"], d["name"], StaffRole(d["role"]), d["created_at"], d["revoked_at"])


class RedisStore(
    RedisRetention,
    RedisHolds,
    ClosureCounts,
    RedisBans,
    RedisMerkle,
    RedisCanned,
    RedisErasure,
    RedisWebhooks,
    Store,
):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._commit = self.r.register_script(COMMIT)
        self._unmark = self.r.register_script(UNMARK)
        self._replace = self.r.register_script(REPLACE_FIELD)
        self._add = self.r.register_script(ADD_FIELD)
        # Open conversations' latest snapshots known to this process, oldest first.
        self._snapshots: OrderedDict[str, Conversation] = OrderedDict()

    @classmethod
    async def open(cls, url: str) -> RedisStore:
        store = cls(url)
        await store.guard(store.r.ping())
        await store._check_durability()
        await store.guard(migrate_layout(store.r))
        await store._extend(None)  # nodes for a log from before they were kept
        await store._backfill_bars()
        await store._backfill_closure_counts()
        await store._backfill_ended()
        await store._backfill_retained()
        await store._backfill_bans_ending()
        return store

    async def _check_durability(self) -> None:
        """Warn when Redis may lose acknowledged writes on a crash (see docs/deployment.md)."""
        try:
            config = await self.r.config_get("append*")
        except RedisError:
            return  # managed Redis may refuse CONFIG; its operator owns durability
        if config.get("appendonly") != "yes" or config.get("appendfsync") != "always":
            log.warning(
                "Redis runs with appendonly=%s appendfsync=%s: acknowledged messages may be "
                "lost if Redis crashes; use appendonly yes and appendfsync always",
                config.get("appendonly"),
                config.get("appendfsync"),
            )

    # policies

    async def publish_policy(self, version: PolicyVersion, at: datetime) -> bool:
        field = f"{version.policy_id}:{version.version}"
        record = dumps(
            {"document": policy_rules.to_stored(version), "published_at": format_time(at)}
        )
        news = dumps(policy_published(version, version.languages, at).to_dict())
        if await self.guard(self._add(keys=[POLICIES, JOURNAL], args=[field, record, news])):
            return True
        while True:
            stored = await self.guard(self.r.hget(POLICIES, field))
            published = json.loads(stored)
            merged = policy_rules.merge_published(
                policy_rules.from_stored(published["document"]), version
            )
            if merged is None:
                return False
            # Adds the new languages unless another process changed the record since it was read.
            update = dumps(published | {"document": policy_rules.to_stored(merged)})
            known = policy_rules.from_stored(published["document"]).languages
            added = [lang for lang in merged.languages if lang not in known]
            news = dumps(policy_published(merged, added, at).to_dict())
            replaced = self._replace(keys=[POLICIES, JOURNAL], args=[field, stored, update, news])
            if await self.guard(replaced):
                return True

    async def policies(self) -> list[PolicyVersion]:
        raw = await self.guard(self.r.hgetall(POLICIES))
        versions = [policy_rules.from_stored(json.loads(v)["document"]) for v in raw.values()]
        return sorted(versions, key=lambda v: (v.policy_id, v.version))

    # visitors

    async def create_visitor(self, visitor_id: str, token_hash: str, at: datetime) -> None:
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hsetnx(VISITOR_TOKENS, token_hash, visitor_id)
            pipe.hsetnx(VISITORS, visitor_id, format_time(at))
            await self.guard(pipe.execute())

    async def visitor_by_token(self, token_hash: str) -> str | None:
        found: str | None = await self.guard(self.r.hget(VISITOR_TOKENS, token_hash))
        return found

    async def visitor_created_at(self, visitor_id: str) -> str | None:
        created: str | None = await self.guard(self.r.hget(VISITORS, visitor_id))
        return created

    # conversations

    async def _latest_id(self, reader: Any, visitor_id: str) -> str | None:
        ids = await reader.zrange(visitor_index(visitor_id), -1, -1)
        return ids[0] if ids else None

    async def start_conversation(
        self, visitor_id: str, decide: Callable[[Conversation | None], Transition]
    ) -> Applied:
        n = await self.guard(self.r.incr(CONVERSATION_N))
        latest_id = await self.guard(self._latest_id(self.r, visitor_id))
        watch = [visitor_index(visitor_id)]
        if latest_id is not None:
            watch.append(conv_key(latest_id, "conv"))

        async def body(pipe: Any) -> Any:
            current_id = await self._latest_id(pipe, visitor_id)
            previous = (
                conversation_of(await pipe.get(conv_key(current_id, "conv")))
                if current_id
                else None
            )
            if current_id != latest_id:
                raise _Moved()
            t = decide(previous)
            c = t.conversation

            e = t.event

            # The gate's one write that spans slots: the visitor's index must change with it.
            def writes(p: Any) -> None:
                p.set(conv_key(c.id, "conv"), dumps(c.to_dict()))
                p.rpush(conv_key(c.id, "events"), dumps(e.to_dict()))
                p.xadd(
                    outbox_key(shard(c.id)),
                    {
                        "r": record(c.id, e.seq, e.at, None, None, None, notices_of(t)),
                        "m": envelope(messages.committed(c, e), "store"),
                    },
                )
                p.zadd(visitor_index(visitor_id), {c.id: n})
                p.zadd(ALL, {c.id: n})
                p.zadd(OPEN, {c.id: n})
                p.zadd(policy_index(c.policy.policy_id, c.policy.version), {c.id: n})

            return Commit(writes, Applied(c, t.event))

        while True:
            try:
                result: Applied = await self.transaction(watch, body)
                return result
            except _Moved:
                # The visitor started a conversation elsewhere meanwhile: watch the new one.
                latest_id = await self.guard(self._latest_id(self.r, visitor_id))
                watch = [visitor_index(visitor_id)]
                if latest_id is not None:
                    watch.append(conv_key(latest_id, "conv"))

    async def apply(
        self,
        conversation_id: str,
        decide: Callable[[Conversation], Transition | None],
        dedupe: str | None = None,
    ) -> Applied:
        """One commit script per action (:mod:`parley.store.redis_outbox`), decided against
        this process's copy of the snapshot; refreshed and decided again if it is stale."""
        keys = [
            conv_key(conversation_id, "conv"),
            conv_key(conversation_id, "events"),
            conv_key(conversation_id, "dedupe"),
            outbox_key(shard(conversation_id)),
        ]
        current = self._snapshots.get(conversation_id)
        fresh = current is None
        if current is None:
            current = await self.conversation(conversation_id)
        for _ in range(MAX_ATTEMPTS):
            if current is None:
                raise ConversationNotFound(f"no conversation {conversation_id}")
            try:
                t = decide(current)
            except ConversationError:
                if not fresh:
                    # A remembered snapshot may lag another process: refuse only on the latest.
                    current, fresh = await self.conversation(conversation_id), True
                    continue
                if dedupe is not None and (sent := await self._duplicate(conversation_id, dedupe)):
                    return sent
                raise
            if t is None:
                return Applied(current, None)
            after, event = t.conversation, t.event
            ended = after if t.ends else None
            ban = t.ban.to_dict() if t.ban else None
            outcome = await self.guard(
                self._commit(
                    keys=keys,
                    args=[
                        current.last_seq,
                        dedupe or "",
                        dumps(after.to_dict()),
                        dumps(event.to_dict()),
                        record(
                            conversation_id,
                            event.seq,
                            event.at,
                            t.audit,
                            ban,
                            ended,
                            notices_of(t),
                        ),
                        envelope(messages.committed(after, event), "store"),
                    ],
                )
            )
            verdict = outcome[0]
            if verdict == "ok":
                self._remember(after)
                return Applied(after, event)
            if verdict == "duplicate":
                snapshot = conversation_of(outcome[1])
                assert snapshot is not None
                return Applied(snapshot, Event.from_dict(json.loads(outcome[2])), duplicate=True)
            current, fresh = (conversation_of(outcome[1]) if verdict == "stale" else None), True
        raise StoreUnavailable("the Redis store is too busy: a write kept losing races")

    async def _duplicate(self, conversation_id: str, dedupe: str) -> Applied | None:
        """The event first stored under ``dedupe``, if any."""
        seq = await self.guard(self.r.hget(conv_key(conversation_id, "dedupe"), dedupe))
        if seq is None:
            return None
        snapshot = await self.conversation(conversation_id)
        raw = await self.guard(self.r.lindex(conv_key(conversation_id, "events"), int(seq) - 1))
        assert snapshot is not None
        return Applied(snapshot, Event.from_dict(json.loads(raw)), duplicate=True)

    def _remember(self, conversation: Conversation) -> None:
        """Keep an open conversation's latest snapshot, so its next action needs no read."""
        self._snapshots.pop(conversation.id, None)
        if conversation.is_open:
            self._snapshots[conversation.id] = conversation
            if len(self._snapshots) > SNAPSHOTS:
                self._snapshots.popitem(last=False)

    async def maintain(self) -> None:
        await self.run_appender(secrets.token_hex(8))

    async def moved_heads(self, limit: int) -> list[Conversation]:
        await self.settle()
        moved = await self.guard(self.r.hrandfield(UNANCHORED, limit))
        return [c for c in await self.snapshots(moved or []) if c is not None]

    async def moved_head_count(self) -> int:
        await self.settle()
        count: int = await self.guard(self.r.hlen(UNANCHORED))
        return count

    async def mark_anchored(self, conversation_id: str, seq: int) -> None:
        await self.guard(self._unmark(keys=[UNANCHORED], args=[conversation_id, seq]))

    async def conversation(self, conversation_id: str) -> Conversation | None:
        return conversation_of(await self.guard(self.r.get(conv_key(conversation_id, "conv"))))

    async def latest_conversation(self, visitor_id: str) -> Conversation | None:
        latest_id = await self.guard(self._latest_id(self.r, visitor_id))
        return await self.conversation(latest_id) if latest_id else None

    async def open_conversations(self) -> list[Conversation]:
        ids = await self.guard(self.r.zrange(OPEN, 0, -1))
        found = [c for c in await self.snapshots(ids) if c is not None and c.is_open]
        return found

    async def events(
        self, conversation_id: str, after_seq: int = 0, until_seq: int | None = None
    ) -> list[Event]:
        end = -1 if until_seq is None else until_seq - 1
        if end != -1 and end < after_seq:
            return []
        raw = await self.guard(self.r.lrange(conv_key(conversation_id, "events"), after_seq, end))
        return [Event.from_dict(json.loads(r)) for r in raw]

    # staff

    async def add_staff(self, staff: Staff, token_hash: str) -> None:
        async with self.r.pipeline(transaction=True) as pipe:
            pipe.hset(STAFF, staff.id, dumps(staff.to_dict()))
            pipe.hset(STAFF_TOKENS, token_hash, staff.id)
            await self.guard(pipe.execute())

    async def staff_by_token(self, token_hash: str) -> Staff | None:
        staff_id = await self.guard(self.r.hget(STAFF_TOKENS, token_hash))
        return _staff(await self.guard(self.r.hget(STAFF, staff_id))) if staff_id else None

    async def staff(self) -> list[Staff]:
        raw = await self.guard(self.r.hgetall(STAFF))
        members = [s for s in (_staff(v) for v in raw.values()) if s is not None]
        return sorted(members, key=lambda s: (s.created_at, s.id))

    async def revoke_staff(self, staff_id: str, at: datetime) -> Staff | None:
        async def body(pipe: Any) -> Any:
            staff = _staff(await pipe.hget(STAFF, staff_id))
            if staff is None or staff.revoked_at is not None:
                return staff
            revoked = Staff(staff.id, staff.name, staff.role, staff.created_at, format_time(at))
            return Commit(lambda p: p.hset(STAFF, staff_id, dumps(revoked.to_dict())), revoked)

        result: Staff | None = await self.transaction([STAFF], body)
        return result


class _Moved(Exception):
    """The visitor's latest conversation changed between reading it and watching it."""
