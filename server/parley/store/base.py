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
  :class:`~parley.errors.PolicyConflict`.

Backends raise :class:`~parley.errors.StoreUnavailable` when they cannot
commit; nothing was written then.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from parley.domain.agent import Staff
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
    ) -> Applied:
        """Write the outcome of ``decide`` on the conversation; raise ConversationNotFound."""

    @abstractmethod
    async def conversation(self, conversation_id: str) -> Conversation | None: ...

    @abstractmethod
    async def latest_conversation(self, visitor_id: str) -> Conversation | None: ...

    @abstractmethod
    async def open_conversations(self) -> list[Conversation]: ...

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
    async def acceptances_by_visitor(
        self, visitor_id: str, cursor: str | None, limit: int
    ) -> Page[Event]:
        """The visitor's acceptance events, oldest first."""

    @abstractmethod
    async def conversations_by_policy(
        self, policy_id: str, version: int, cursor: str | None, limit: int
    ) -> Page[Conversation]:
        """Conversations whose visitor accepted this version, oldest first."""
