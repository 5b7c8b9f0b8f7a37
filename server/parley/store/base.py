"""The one storage interface every backend implements.

Guarantees every backend gives (checked by ``tests/store/contract.py``):

* **Durability.** When a write method returns, its effect is committed to
  stable storage (SQLite: WAL with ``synchronous=FULL``). Callers acknowledge
  to clients only after that. If a write raises, nothing of it was written.
* **Atomicity.** :meth:`Store.start_conversation` and :meth:`Store.apply` run
  their ``decide`` function against the latest committed state of the
  conversation, then write the new snapshot and the event together or not at
  all. ``decide`` is pure and may be called more than once (backends with
  optimistic concurrency retry it); if it raises, nothing is written and the
  error propagates.
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

Backends raise :class:`~parley.errors.StoreUnavailable` when they cannot
commit; nothing was written then.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import orjson

from parley.domain.agent import Staff
from parley.domain.anchor import Checkpoint, Leaf
from parley.domain.audit import AuditDraft, AuditEntry
from parley.domain.bans import Ban
from parley.domain.conversation import Conversation, Transition
from parley.domain.policy import PolicyVersion
from parley.domain.transcript import Event

T = TypeVar("T")

#: The largest page any listing returns.
MAX_PAGE = 500


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

    ``since`` and ``until`` are RFC 3339 UTC times (inclusive, exclusive).
    """

    visitor_id: str | None = None
    policy_id: str | None = None
    version: int | None = None
    clause_id: str | None = None
    since: str | None = None
    until: str | None = None


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
        ban: Ban | None = None,
    ) -> Applied:
        """Write the outcome of ``decide`` on the conversation; raise ConversationNotFound.

        ``ban``, if given, is stored in the same transaction as the event.
        """

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
    async def events(
        self, conversation_id: str, after_seq: int = 0, until_seq: int | None = None
    ) -> list[Event]:
        """Events with ``after_seq < seq <= until_seq``, in sequence order."""

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
        """Closure-for-violation events matching ``where``, oldest first."""

    @abstractmethod
    async def closure_counts(self, where: Filter) -> list[ClauseCount]:
        """How many conversations were closed under each clause of each version."""

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
    async def lift_ban(self, ban_id: str, by: str, reason: str, at: datetime) -> Ban | None:
        """Lift a bar (once; lifting again changes nothing); ``None`` if there is none."""

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
        """The latest audit entry about the conversation."""

    @abstractmethod
    async def append_leaf(self, leaf: Leaf) -> int:
        """Append ``leaf`` to the Merkle log; return its index (0-based)."""

    @abstractmethod
    async def leaf_hashes(self, tree_size: int | None = None) -> list[bytes]:
        """The first ``tree_size`` leaf hashes (all when ``None``), in log order."""

    @abstractmethod
    async def leaves_of(self, conversation_id: str) -> list[tuple[int, Leaf]]:
        """The conversation's leaves with their indexes, in log order."""

    @abstractmethod
    async def save_checkpoint(self, checkpoint: Checkpoint, signature: str) -> None: ...

    @abstractmethod
    async def latest_checkpoint(self) -> tuple[Checkpoint, str] | None:
        """The signed checkpoint with the largest tree, and its signature."""


def dumps(record: Any) -> str:
    """A record as stored: compact JSON text (what ``json.dumps`` would write, faster)."""
    return orjson.dumps(record).decode()
