"""An agent session's frames about who answers a conversation (docs/protocol.md §11).

``claim``, ``transfer`` and ``release`` change the assignee with an ``assigned``
event and its audit entry in one commit (:mod:`parley.domain.assignment`);
``observe`` watches a conversation read-only, recording nothing; ``staff``
lists whom a conversation may be transferred to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from parley.domain import assignment
from parley.domain.agent import CHAT_ROLES, Staff, StaffRole
from parley.domain.assignment import Reason
from parley.domain.audit import PARLEY, AuditAction
from parley.domain.conversation import Conversation, Transition, audited
from parley.errors import ConversationNotFound, StoreUnavailable, UnknownAgent
from parley.service.citations import citing_view, texts_for
from parley.service.context import visitor_context
from parley.service.core import Core, policy_view
from parley.service.history import visitor_history
from parley.service.holds import held_view
from parley.service.session import Session

log = logging.getLogger("parley.assignments")

FRAMES = frozenset({"claim", "transfer", "release", "observe", "staff"})

Decide = Callable[[Conversation], Transition | None]


class Assignments(Session):
    """The base of :class:`~parley.service.agent.AgentSession` that handles :data:`FRAMES`."""

    #: Who said hello on this session (None before).
    staff: Staff | None

    @property
    def _signed_in(self) -> Staff:
        assert self.staff is not None
        return self.staff

    @property
    def _admin(self) -> bool:
        return self._signed_in.role is StaffRole.ADMIN

    async def assignment_frame(self, frame: dict[str, Any]) -> None:
        """Act on one of :data:`FRAMES`; raise a ParleyError for the client to be told."""
        kind = frame["type"]
        if kind == "staff":
            await self.send({"type": "staff", "items": await self._chat_staff()})
            return
        conversation_id = frame["conversation_id"]
        if kind == "observe":
            conv = await self._conversation(conversation_id)
            await self._show("observing", conv, frame.get("last_seq", 0))
            return
        me, at = self._signed_in.author, self.core.clock()
        to = None
        if kind == "transfer":
            await self._conversation(conversation_id)  # unknown: not_found, whoever `to` is
            to = (await self._agent(frame["to"])).author

        def decide(c: Conversation) -> Transition:
            if kind == "claim":
                return assignment.claim(c, me, at)
            if to is None:
                return assignment.release(c, me, self._admin, at)
            return assignment.transfer(c, me, self._admin, to, at)

        applied = await self.core.store.apply(conversation_id, self._audited_assignment(decide))
        assert applied.event is not None
        await self.send(
            {"type": "done", "request": kind, "conversation_id": conversation_id,
             "seq": applied.event.seq}
        )  # fmt: skip
        await self.core.committed(applied)

    def _audited_assignment(self, decide: Decide) -> Decide:
        """``decide`` with the audit entry an assignment change owes, committed with it."""

        def with_audit(c: Conversation) -> Transition | None:
            t = decide(c)
            if t is None:
                return None
            agent = t.event.data["agent"]
            return audited(
                t,
                self._signed_in.actor,
                AuditAction.ASSIGNED,
                reason=t.event.data["reason"],
                agent_id=agent["id"] if agent else None,
            )

        return with_audit

    async def _claim_to_join(self, conversation_id: str) -> None:
        """Joining claims a conversation from the queue; refused if another agent holds it."""
        me, at = self._signed_in.author, self.core.clock()

        def claim(c: Conversation) -> Transition | None:
            return assignment.claim_to_join(c, me, self._admin, at) if c.is_open else None

        applied = await self.core.store.apply(conversation_id, self._audited_assignment(claim))
        if applied.event is not None:
            await self.core.committed(applied)

    def _assignee_only(self, decide: Decide) -> Decide:
        """``decide`` for the assignee or an admin only: anyone else gets NotAssignee and
        nothing is written. (An ended conversation says so itself, whoever asks.)"""

        def checked(c: Conversation) -> Transition | None:
            if c.is_open:
                assignment.require_assignee(c, self._signed_in.id, self._admin)
            return decide(c)

        return checked

    async def _show(self, kind: str, conv: Conversation, last_seq: int) -> None:
        """The snapshot a console opens a conversation with (``joined`` or ``observing``),
        then its events after ``last_seq`` and live ones."""
        accepted, governing = await texts_for(self.core, conv.policy)
        policy = policy_view(governing, accepted.language) | citing_view(accepted, governing)
        await self.send(
            {
                "type": kind,
                "conversation": await held_view(self.core, conv),
                "policy": policy,
                "history": await visitor_history(self.core, conv),
                "visitor": visitor_context((await self.core.store.events(conv.id, 0, 1))[0]),
            }
        )
        await self.watch(conv, last_seq)

    async def _conversation(self, conversation_id: str) -> Conversation:
        conv = await self.core.store.conversation(conversation_id)
        if conv is None:
            raise ConversationNotFound(f"no conversation {conversation_id}")
        return conv

    async def _chat_staff(self) -> list[dict[str, str]]:
        """Every staff member who may chat now (not revoked), oldest first."""
        return [
            {"id": s.id, "name": s.name, "role": s.role.value}
            for s in await self.core.store.staff()
            if s.revoked_at is None and s.role in CHAT_ROLES
        ]

    async def _agent(self, staff_id: str) -> Staff:
        """The active chat staff member ``staff_id``; UnknownAgent if there is none."""
        for s in await self.core.store.staff():
            if s.id == staff_id and s.revoked_at is None and s.role in CHAT_ROLES:
                return s
        raise UnknownAgent(f"no active agent has id {staff_id}")


async def auto_assign(core: Core, conversation_id: str) -> None:
    """Give a new conversation to the least busy available agent, if any (PARLEY_AUTO_ASSIGN).

    Available is presence's word, in every process; busy counts the open conversations each
    holds. Nobody available: it waits in the queue. The ``assigned`` event (reason ``auto``,
    by Parley) and its audit entry commit together, and only while it is still queued.
    """
    await _give_out(core, lambda queued: [c for c in queued if c.id == conversation_id])


async def assign_queue(core: Core) -> None:
    """Give the queue out, longest waiting first, when an agent becomes available
    (PARLEY_AUTO_ASSIGN): each conversation to whoever is least busy by then."""
    await _give_out(core, lambda queued: sorted(queued, key=lambda c: c.started_at))


async def _give_out(core: Core, pick: Callable[[list[Conversation]], list[Conversation]]) -> None:
    """Assign the queued conversations ``pick`` chooses, in its order; a store away leaves
    them in the queue, for an agent to claim (logged, never the caller's error)."""
    try:
        available = await core.presence.available_agents()
        if not available:
            return
        staff = {s.id: s for s in await core.store.staff() if s.revoked_at is None}
        candidates = [a for a in available if a in staff and staff[a].role in CHAT_ROLES]
        open_now = {c.id: c for c in await core.store.open_conversations()}
        for queued in pick([c for c in open_now.values() if c.assignee is None]):
            chosen = assignment.least_busy(candidates, open_now.values())
            if chosen is None:
                return
            applied = await core.store.apply(queued.id, _by_parley(staff[chosen], core.clock()))
            if applied.event is not None:
                open_now[queued.id] = applied.conversation
                await core.committed(applied)
    except StoreUnavailable as e:
        log.warning("left the queue as it is: could not auto-assign (%s)", e)


def _by_parley(agent: Staff, at: datetime) -> Decide:
    """Give a conversation still queued to ``agent``, by Parley, with its audit entry."""

    def give(c: Conversation) -> Transition | None:
        t = assignment.auto_assign(c, agent.author, at)
        if t is None:
            return None
        return audited(t, PARLEY, AuditAction.ASSIGNED, reason=Reason.AUTO.value, agent_id=agent.id)

    return give
