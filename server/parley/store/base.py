"""The one storage interface every backend implements.

Guarantees every backend gives (checked by ``tests/store/contract.py``):

* **Durability.** When a write method returns, its effect is committed to
  stable storage (SQLite: WAL with ``synchronous=FULL``). Callers acknowledge
  to clients only after that. If a write raises, nothing of it was written.
* **Atomicity: one action, one commit.** :meth:`Store.start_conversation` and
  :meth:`Store.apply` run their ``decide`` function against the latest
  committed state of the conversation and commit its whole
  :class:`~parley.domain.conversation.Transition` — the new snapshot, the
  event, the audit entry the action owes and a bar it places — together or
  not at all. ``decide`` is pure and may be called more than once (backends
  with optimistic concurrency retry it on fresh state); if it raises, nothing
  is written and the error propagates.
* **The outbox.** What an action changes outside its conversation (the global
  audit chain, the open/closed indexes, the bars, the clause counts, the
  heads to anchor) is either written in the same transaction (SQLite) or
  recorded in an outbox in the same transaction and applied from it exactly
  once, in order per conversation (Redis). :meth:`Store.settle` returns once
  every action committed before the call has all of its effects; a crash in
  between loses nothing, because the outbox record was committed with the
  event.
* **Webhook notices.** The notices an action owes
  (:func:`parley.domain.webhooks.notices_of`) join the webhook journal with the
  action: in its transaction (SQLite) or in its outbox record, journaled once by
  the appender (Redis). :meth:`Store.lift_ban` and :meth:`Store.publish_policy`
  journal theirs in their own commit, only when they changed something.
  :meth:`Store.fan_out` turns journaled notices into deliveries exactly once.
* **Ordering.** Events of one conversation have sequence numbers 1, 2, 3, ...
  with no gap; :meth:`Store.events` returns them in that order. Two concurrent
  writers never get the same number: one of them sees the other's state.
* **Idempotency.** A write with a ``dedupe`` key already used in that
  conversation stores nothing and returns the event first stored under it.
* **Immutability.** A published policy version never changes; publishing
  different text under the same version raises
  :class:`~parley.errors.PolicyConflict`. Audit entries, transcript events and
  Merkle leaves are append-only: no method changes or removes one.
* **Chains.** :meth:`Store.append_audit` places each entry after the current
  head of the audit chain, atomically; :meth:`Store.append_leaf` gives each
  leaf the next index of the Merkle log.
* **Merkle nodes.** :meth:`Store.append_leaf` stores, in the same transaction
  as the leaf, the hash of every perfect subtree the leaf completes
  (:mod:`parley.domain.merkle_nodes`); roots and proofs are read from O(log n)
  of them, never from every leaf. Leaves without nodes (a log from before
  they were kept, or leaves an older version appended) get them when the
  store opens and before the next leaf is appended.

Backends raise :class:`~parley.errors.StoreUnavailable` when they cannot
commit; nothing was written then.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson

from parley.domain.agent import Staff
from parley.domain.anchor import Checkpoint, Leaf, SignedCheckpoint
from parley.domain.audit import AuditDraft, AuditEntry
from parley.domain.bans import Ban
from parley.domain.canned import CannedReply
from parley.domain.conversation import Conversation, ConversationState, Transition
from parley.domain.deliveries import Delivery
from parley.domain.holds import Hold, HoldChange
from parley.domain.merkle_nodes import NodeId, Plan, consistency_plan, inclusion_plan, root_plan
from parley.domain.policy import PolicyVersion
from parley.domain.transcript import Event
from parley.domain.webhooks import Endpoint, Notice
from parley.errors import BadRequest

T = TypeVar("T")

#: The largest page any listing returns.
MAX_PAGE = 500

#: A position a listing pages by: a conversation's number or an audit seq, a 64-bit integer.
POSITION = re.compile(r"[0-9]{1,19}")


def position_after(cursor: str | None) -> int:
    """The position a page starts after: 0 without a cursor, else the one ``cursor`` names.

    Raises :class:`~parley.errors.BadRequest` for a cursor no listing returns.
    """
    if cursor is None:
        return 0
    if POSITION.fullmatch(cursor) is None or int(cursor) >= 2**63:
        raise BadRequest(f"cursor {cursor[:64]!r} is not one this listing returned")
    return int(cursor)


@dataclass(frozen=True)
class Applied:
    """The outcome of a write: the conversation after it and the event it recorded.

    ``event`` is ``None`` when ``decide`` chose to record nothing; ``duplicate``
    is true when the dedupe key was already used and ``event`` is the original.
    """

    conversation: Conversation
    event: Event | None
    duplicate: bool = False


@dataclass(frozen=True)
class Filter:
    """Which records a compliance listing returns; ``None`` fields do not filter.

    ``since`` and ``until`` are times in the stored form (inclusive, exclusive):
    acceptances and conversations are filtered on when they started (the acceptance),
    closures and their counts on when the conversation was closed.
    """

    visitor_id: str | None = None
    policy_id: str | None = None
    version: int | None = None
    clause_id: str | None = None
    since: str | None = None
    until: str | None = None


@dataclass(frozen=True)
class EndedFilter:
    """Which ended conversations agents look for; ``None`` fields do not filter.

    ``since`` and ``until`` are times in the stored form (inclusive, exclusive) of when
    the conversation ended.
    """

    visitor_id: str | None = None
    conversation_id: str | None = None
    since: str | None = None
    until: str | None = None

    def admits(self, c: Conversation) -> bool:
        """Whether the ended conversation ``c`` matches (an open one never does)."""
        at = c.ended_at
        return (
            at is not None
            and (self.visitor_id is None or c.visitor_id == self.visitor_id)
            and (self.conversation_id is None or c.id == self.conversation_id)
            and (self.since is None or at >= self.since)
            and (self.until is None or at < self.until)
        )


@dataclass(frozen=True)
class ClauseCount:
    policy_id: str
    version: int
    clause_id: str
    count: int


@dataclass(frozen=True)
class PastConversation:
    """An earlier conversation of a visitor, as agents see it before replying."""

    conversation: Conversation
    #: Its warning and closure events, in sequence order.
    moderation: list[Event]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; pass ``next_cursor`` back to get the next one."""

    items: list[T]
    next_cursor: str | None


class Store(ABC):
    """System of record for policies, visitors, staff and conversations."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def publish_policy(self, version: PolicyVersion, at: datetime) -> bool:
        """Publish ``version``; return ``False`` if the identical text was already published."""

    @abstractmethod
    async def policies(self) -> list[PolicyVersion]:
        """Every published version, oldest first."""

    @abstractmethod
    async def create_visitor(self, visitor_id: str, token_hash: str, at: datetime) -> None: ...

    @abstractmethod
    async def visitor_by_token(self, token_hash: str) -> str | None:
        """The visitor id whose resume token has this hash."""

    @abstractmethod
    async def visitor_created_at(self, visitor_id: str) -> str | None:
        """When the visitor was first issued a resume token (stored form); ``None`` if the
        store keeps no record of that visitor (the Redis store kept none before 2026-12)."""

    @abstractmethod
    async def start_conversation(
        self, visitor_id: str, decide: Callable[[Conversation | None], Transition]
    ) -> Applied:
        """Create a conversation; ``decide`` gets the visitor's latest conversation."""

    @abstractmethod
    async def apply(
        self,
        conversation_id: str,
        decide: Callable[[Conversation], Transition | None],
        dedupe: str | None = None,
    ) -> Applied:
        """Commit the outcome of ``decide`` on the conversation; raise ConversationNotFound.

        Everything the transition holds (event, snapshot, audit entry, bar)
        commits together. With ``dedupe`` already used in this conversation,
        nothing is written and the original event is returned, even if
        ``decide`` would now refuse the action.
        """

    @abstractmethod
    async def settle(self) -> None:
        """Return once every action committed before the call has all its effects (outbox)."""

    @abstractmethod
    async def maintain(self) -> None:
        """Background work a serving process does for the store; cancelled at shutdown.

        The Redis store drains its outbox here (one process at a time holds the
        appender's lease); SQLite has nothing to do and returns at once.
        """

    @abstractmethod
    async def moved_heads(self, limit: int) -> list[Conversation]:
        """Up to ``limit`` conversations whose head moved since :meth:`mark_anchored`."""

    @abstractmethod
    async def moved_head_count(self) -> int:
        """How many conversations :meth:`moved_heads` would return without a limit."""

    @abstractmethod
    async def mark_anchored(self, conversation_id: str, seq: int) -> None:
        """The head at ``seq`` is in the Merkle log: drop the conversation from
        :meth:`moved_heads` unless it has moved past ``seq`` since."""

    @abstractmethod
    async def conversation(self, conversation_id: str) -> Conversation | None: ...

    @abstractmethod
    async def latest_conversation(self, visitor_id: str) -> Conversation | None: ...

    @abstractmethod
    async def open_conversations(self) -> list[Conversation]: ...

    @abstractmethod
    async def earlier_conversations(
        self, visitor_id: str, conversation_id: str, limit: int
    ) -> list[PastConversation]:
        """The visitor's ``limit`` latest conversations started before ``conversation_id``.

        Newest first, each with its warning and closure events, read in one
        query; empty when ``conversation_id`` is not one of the visitor's.
        """

    @abstractmethod
    async def ended_conversations(
        self, where: EndedFilter, cursor: str | None, limit: int
    ) -> Page[Conversation]:
        """Ended conversations matching ``where``, the latest ended first (ties: by id,
        descending); the cursor is the last one's conversation number.

        Read through an index kept by the commit (or outbox record) that ends a
        conversation, never by reading every conversation.
        """

    @abstractmethod
    async def events(
        self, conversation_id: str, after_seq: int = 0, until_seq: int | None = None
    ) -> list[Event]:
        """Events with ``after_seq < seq <= until_seq``, in sequence order."""

    @abstractmethod
    async def rewrite_event(self, event: Event, before: Event | None = None) -> None:
        """Store ``event`` over the stored event of its conversation and seq, which has
        the same hash: how an erasure (:func:`parley.domain.erasure.erase`) is written.

        Atomic: compared and written in one step. With ``before``, the stored record must
        be exactly ``before`` (so two erasures of one event cannot undo each other's).
        Raises ``ValueError`` if ``event`` does not match its hash, or no stored event has
        its conversation, seq and hash (a rewrite that would break the chain), or the
        stored one is not ``before``; nothing is written then.
        """

    @abstractmethod
    async def purge_erased(self, conversation_ids: Sequence[str]) -> None:
        """Remove from the store's files the copies of values erased from these conversations.

        Called after :meth:`rewrite_event` erasures and :meth:`settle`. SQLite (which
        zeroes what a write frees: ``secure_delete``) checkpoints its write-ahead log into
        the database file and truncates it; Redis deletes the applied outbox records of
        these conversations, whose bus messages copied their events, and asks for an AOF
        rewrite (done in the background: the old AOF is gone once it finishes).
        """

    @abstractmethod
    async def add_staff(self, staff: Staff, token_hash: str) -> None: ...

    @abstractmethod
    async def staff_by_token(self, token_hash: str) -> Staff | None: ...

    @abstractmethod
    async def staff(self) -> list[Staff]: ...

    @abstractmethod
    async def revoke_staff(self, staff_id: str, at: datetime) -> Staff | None:
        """Mark the staff member revoked (their token stops working); ``None`` if unknown."""

    @abstractmethod
    async def acceptances(self, where: Filter, cursor: str | None, limit: int) -> Page[Event]:
        """Acceptance events (seq 1) matching ``where``, oldest first."""

    @abstractmethod
    async def closures(self, where: Filter, cursor: str | None, limit: int) -> Page[Event]:
        """Closure-for-violation events matching ``where`` (times: the closure's), oldest
        conversation first."""

    @abstractmethod
    async def closure_counts(self, where: Filter) -> list[ClauseCount]:
        """How many conversations matching ``where`` (times: the closure's) were closed
        under each clause of each version."""

    @abstractmethod
    async def conversations_by_policy(
        self, policy_id: str, version: int, cursor: str | None, limit: int
    ) -> Page[Conversation]:
        """Conversations whose visitor accepted this version, oldest first."""

    @abstractmethod
    async def bans(self) -> list[Ban]:
        """Every bar ever placed (lifted and expired ones too), oldest first."""

    @abstractmethod
    async def bars_on(self, visitor_id: str | None, ip: str | None, now: datetime) -> list[Ban]:
        """The bars that keep out ``visitor_id`` or ``ip`` at ``now``, oldest first.

        A bar applies by its visitor id, by its exact address, or by a network
        holding ``ip``; a lifted or expired one never applies. Found through
        indexes, not by reading every bar; a bar placed or lifted by any process
        applies from the first call that starts after its commit.
        """

    @abstractmethod
    async def rewrite_bar(self, before: Ban, after: Ban) -> bool:
        """Store ``after`` over the bar ``before`` (same id) if it is still stored exactly as
        ``before``; return whether it was. Its lookups follow (an address erased from a bar
        no longer in force leaves every index). How an erasure changes a bar."""

    @abstractmethod
    async def lift_ban(self, ban_id: str, by: str, reason: str, at: datetime) -> Ban | None:
        """Lift a bar (once; lifting again changes nothing); ``None`` if there is none."""

    @abstractmethod
    async def place_hold(self, change: HoldChange, at: datetime) -> Hold:
        """Store a new hold and seal its audit entry, in one commit; return the hold."""

    @abstractmethod
    async def lift_hold(
        self, hold_id: str, decide: Callable[[Hold], HoldChange], at: datetime
    ) -> Hold:
        """Commit ``decide(hold)`` (the hold lifted, and its audit entry) in one commit.

        Raises HoldNotFound for an unknown id; if ``decide`` raises (a hold already
        lifted), nothing is written and the error propagates.
        """

    @abstractmethod
    async def holds(self, active_only: bool, cursor: str | None, limit: int) -> Page[Hold]:
        """Holds in the order they were placed, only those not lifted if ``active_only``;
        the cursor is the last one's number in that order."""

    @abstractmethod
    async def holds_on(self, conversation_id: str, visitor_id: str) -> list[Hold]:
        """The active holds covering this conversation of this visitor, oldest first.

        What retention and erasure ask before touching a conversation: found through
        indexes (a few key reads, one indexed query), never by reading every hold; a
        hold placed or lifted by any process counts from the first call after its commit.
        """

    @abstractmethod
    async def conversations_due(
        self, state: ConversationState, ended_before: str, cursor: str | None, limit: int
    ) -> Page[Conversation]:
        """Conversations that ended in ``state`` before ``ended_before`` (a stored time),
        not yet marked erased by retention (:meth:`mark_erased`) and covered by no active
        hold: what the retention sweep erases. The earliest ended first (ties: by id); the
        cursor is the last one's conversation number.

        Read through an index of the ended conversations not yet erased, kept by the commit
        (or outbox record) that ends one, never by reading every conversation. A page may
        hold fewer than ``limit`` while more follow (held ones are left out after reading):
        follow ``next_cursor`` until it is ``None``.
        """

    @abstractmethod
    async def mark_erased(self, conversation: Conversation, at: datetime) -> None:
        """Record that retention erased ``conversation`` at ``at``: it leaves
        :meth:`conversations_due`.

        Idempotent; an unknown or open conversation changes nothing.
        """

    @abstractmethod
    async def bars_due(self, ended_before: str, cursor: str | None, limit: int) -> Page[Ban]:
        """Bars that stopped being in force (lifted, or ran out: :attr:`Ban.ended_at`) before
        ``ended_before`` and are not erased yet, the earliest ended first (ties: in the order
        placed); the cursor is the last one's number. Read through an index of such bars
        (a permanent bar enters it when lifted), never by reading every bar.
        """

    @abstractmethod
    async def erase_bar(self, ban: Ban, audit: AuditDraft, at: datetime) -> bool:
        """Store ``ban`` (erased: :func:`parley.domain.bans.erase`) over the stored bar of its
        id and seal ``audit``, in one commit; the bar leaves :meth:`bars_due` and the copies
        its lookups read. ``False``, and nothing written, if the stored bar is unknown or
        already erased: erasing twice records once.
        """

    @abstractmethod
    async def take_lease(self, name: str, holder: str, now: datetime, seconds: float) -> bool:
        """Take the lease ``name`` for ``holder`` until ``seconds`` after ``now``, or renew it
        if ``holder`` has it; ``False`` (and nothing changed) while another holder's runs.

        Atomic across processes sharing the store: at most one holder at a time.
        """

    @abstractmethod
    async def release_lease(self, name: str, holder: str) -> None:
        """End ``holder``'s lease ``name`` now; nothing if someone else holds it."""

    @abstractmethod
    async def canned_replies(self) -> list[CannedReply]:
        """Every canned reply, by shortcut."""

    @abstractmethod
    async def add_canned_reply(self, reply: CannedReply) -> None:
        """Store a new reply; ShortcutTaken, storing nothing, if its shortcut is in use."""

    @abstractmethod
    async def change_canned_reply(self, reply: CannedReply) -> CannedReply | None:
        """Replace the reply with ``reply.id``; ``None`` if there is none.

        Raises ShortcutTaken, changing nothing, if another reply has ``reply.shortcut``.
        """

    @abstractmethod
    async def delete_canned_reply(self, reply_id: str) -> CannedReply | None:
        """Remove a reply; return it, or ``None`` if there was none."""

    @abstractmethod
    async def add_webhook(self, endpoint: Endpoint) -> None:
        """Store a new webhook endpoint (its id is new)."""

    @abstractmethod
    async def webhooks(self) -> list[Endpoint]:
        """Every endpoint not deleted, in the order added."""

    @abstractmethod
    async def webhook(self, endpoint_id: str) -> Endpoint | None:
        """The endpoint with this id, deleted or not; ``None`` if there was never one."""

    @abstractmethod
    async def delete_webhook(self, endpoint_id: str, at: str) -> Endpoint | None:
        """Mark the endpoint deleted at ``at`` (once: deleting again keeps the first time);
        fanning out skips it from then on, and its delivery log stays. ``None`` if unknown."""

    @abstractmethod
    async def notices(self, after: int, limit: int) -> list[tuple[int, Notice]]:
        """Journaled notices at positions ``after + 1 ...`` (1-based, in commit order)."""

    @abstractmethod
    async def fan_out(self, at: datetime, limit: int) -> int:
        """Make deliveries of up to ``limit`` notices after the fan-out cursor, one to each
        endpoint that wants the notice (:func:`parley.domain.webhooks.fan_out`), due at
        ``at``, and move the cursor past them: in one commit, so each notice is fanned out
        exactly once whichever process does it. Returns how many notices it consumed."""

    @abstractmethod
    async def due_deliveries(self, at: datetime, limit: int) -> list[Delivery]:
        """Up to ``limit`` pending deliveries due at or before ``at``, the earliest first;
        read through an index of pending ones."""

    @abstractmethod
    async def save_delivery(self, delivery: Delivery) -> bool:
        """Store ``delivery`` after one more attempt over the stored one, if that one still
        has one attempt fewer (so two dispatchers never record over each other); return
        whether it was stored. A pending one is due again at its ``next_at``."""

    @abstractmethod
    async def deliveries(self, endpoint_id: str, cursor: str | None, limit: int) -> Page[Delivery]:
        """The endpoint's delivery log, newest first; the cursor is the last one's number."""

    @abstractmethod
    async def append_audit(self, draft: AuditDraft, at: datetime) -> AuditEntry:
        """Seal ``draft`` after the audit chain's head and commit it."""

    @abstractmethod
    async def audit(
        self, cursor: str | None, limit: int, conversation_id: str | None = None
    ) -> Page[AuditEntry]:
        """Audit entries in chain order, optionally only those about one conversation."""

    @abstractmethod
    async def last_audit(self, conversation_id: str) -> AuditEntry | None:
        """The latest audit entry about the conversation that is sealed in the chain.

        Entries still in the outbox are not: callers that need every committed
        action's entry call :meth:`settle` first (anchoring and export do).
        """

    @abstractmethod
    async def append_leaf(self, leaf: Leaf) -> int:
        """Append ``leaf`` to the Merkle log; return its index (0-based)."""

    @abstractmethod
    async def merkle_nodes(self, nodes: Sequence[NodeId]) -> tuple[int, dict[NodeId, bytes]]:
        """How many leaves the log holds, and the hashes of these perfect subtrees, read together.

        A node not (yet) complete is left out. Costs O(1) per node, whatever the log's size.
        """

    async def tree_size(self) -> int:
        """How many leaves the Merkle log holds."""
        size, _ = await self.merkle_nodes(())
        return size

    async def merkle_root(self, tree_size: int) -> bytes:
        """MTH of the first ``tree_size`` leaves (RFC 9162 §2.1.1).

        Raises ValueError if the size is negative or the log is shorter.
        """
        [root] = await self._read(root_plan(tree_size), tree_size)
        return root

    async def inclusion_proof(self, index: int, tree_size: int) -> list[bytes]:
        """PATH(index, D[tree_size]) of RFC 9162 §2.1.3.1, leaf first.

        Raises ValueError unless ``0 <= index < tree_size`` and the log holds ``tree_size``.
        """
        return await self._read(inclusion_plan(index, tree_size), tree_size)

    async def consistency_proof(self, old_size: int, tree_size: int) -> list[bytes]:
        """PROOF(old_size, D[tree_size]) of RFC 9162 §2.1.4.1, as
        :func:`parley.domain.merkle.consistency_proof` gives it.

        Raises ValueError unless ``0 <= old_size <= tree_size`` and the log holds ``tree_size``.
        """
        return await self._read(consistency_plan(old_size, tree_size), tree_size)

    async def _read(self, plan: Plan, tree_size: int) -> list[bytes]:
        size, stored = await self.merkle_nodes(plan.nodes)
        if size < tree_size:
            raise ValueError(f"the Merkle log holds only {size} leaves, not {tree_size}")
        return plan.hashes(stored)

    @abstractmethod
    async def leaves_of(self, conversation_id: str) -> list[tuple[int, Leaf]]:
        """The conversation's leaves with their indexes, in log order."""

    @abstractmethod
    async def save_checkpoint(
        self, checkpoint: Checkpoint, signature: str, note: str | None = None
    ) -> None:
        """Keep a signed checkpoint and its signed note; the first saved for a tree size stands."""

    @abstractmethod
    async def signed_checkpoint(self, tree_size: int | None = None) -> SignedCheckpoint | None:
        """The checkpoint of ``tree_size`` (default: the largest) and all signed about it."""

    @abstractmethod
    async def add_cosignatures(self, tree_size: int, lines: Sequence[str]) -> None:
        """Keep witnesses' cosignature lines on that checkpoint's note, each line once."""

    @abstractmethod
    async def save_timestamp(self, tree_size: int, token: str) -> None:
        """Keep an RFC 3161 token (base64) over that checkpoint's note; the first one stands."""

    async def latest_checkpoint(self) -> tuple[Checkpoint, str] | None:
        """The signed checkpoint with the largest tree, and its signature."""
        signed = await self.signed_checkpoint()
        return (signed.checkpoint, signed.signature) if signed else None


def unchanged_hash(event: Event) -> None:
    """Refuse to store an event whose content no longer matches its hash."""
    if event.computed_hash() != event.hash:
        raise ValueError(f"event {event.seq} of {event.conversation_id} does not match its hash")


def dumps(record: Any) -> str:
    """A record as stored: compact JSON text (what ``json.dumps`` would write, faster)."""
    return orjson.dumps(record).decode()
