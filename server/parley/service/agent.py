"""An agent's session: the open-conversation list, join, reply, resolve, close for violation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from parley.bus.base import CANNED, staff_topic
from parley.bus.messages import CannedChanged, Message, StaffRevoked
from parley.domain import bans, moderation
from parley.domain import conversation as rules
from parley.domain.agent import CHAT_ROLES, Staff
from parley.domain.audit import AuditAction
from parley.domain.conversation import Conversation, Transition, audited
from parley.domain.policy import PolicyVersion
from parley.domain.presence import AgentState
from parley.domain.transcript import Author, Event, Role
from parley.errors import (
    BadEvidence,
    HelloRequired,
    InvalidFrame,
    Unauthorized,
)
from parley.service import assignments, canned, evidence, signals
from parley.service.assignments import Assignments
from parley.service.citations import texts_for
from parley.service.core import Core
from parley.service.feed import Send
from parley.service.history import transcript
from parley.service.lobby import ListUpdates, Push
from parley.service.presence import staff_frame, visitors_frame


class AgentSession(Assignments):
    """``push`` queues frames the lobby encoded once for every console (see Lobby.register)."""

    side = Role.AGENT

    def __init__(
        self,
        core: Core,
        send: Send,
        subscribe: Callable[[str], Callable[[], None]],
        push: Push,
        *,
        ephemeral: Push | None = None,
    ) -> None:
        super().__init__(core, send, subscribe)
        #: Queues presence frames if there is room (see parley.service.presence).
        self._ephemeral = ephemeral
        self._presence_key = core.ids("p")
        self.staff: Staff | None = None
        self._token = ""
        self._push = push
        self._list_updates = ListUpdates.FULL
        self._leave_lobby: Callable[[], None] | None = None

    async def handle(self, frame: dict[str, Any]) -> None:
        """Act on one validated frame; raise a ParleyError for the client to be told."""
        kind = frame["type"]
        if kind == "ping":
            await self.send({"type": "pong"})
            return
        if kind == "hello":
            await self._hello(frame["token"], ListUpdates(frame.get("list_updates", "full")))
            await self._present(frame.get("presence", False))
            return
        if self.staff is None:
            raise HelloRequired("say hello with your agent token first")
        # A token revoked since hello acts no more, whichever process revoked it.
        self.staff = await self.core.authenticate(self._token, CHAT_ROLES)
        if kind == "list":
            await self._list()
        elif kind == "join":
            await self._join(frame["conversation_id"], frame.get("last_seq", 0))
        elif kind == "leave":
            self.unwatch(frame["conversation_id"])
            await self.send({"type": "left", "conversation_id": frame["conversation_id"]})
        elif kind == "reply":
            await self._reply(frame)
        elif kind == "resolve":
            await self._end(
                frame,
                lambda c, at: self._audited(
                    rules.resolve(c, self._me, frame.get("note"), at), AuditAction.RESOLVED
                ),
            )
        elif kind == "close":
            await self._close(frame)
        elif kind == "warn":
            await self._warn(frame)
        elif kind in assignments.FRAMES:
            await self.assignment_frame(frame)
        elif kind == "presence":
            await self.core.presence.set_agent_state(self._me.id, AgentState(frame["state"]))
            await self.send({"type": "done", "request": "presence", "state": frame["state"]})
            await self._take_from_queue()
        elif kind == "read_transcript":
            await self.send(await transcript(self.core, frame["conversation_id"]))
        elif kind in ("typing", "read"):
            await self._signal(frame)

    @property
    def _me(self) -> Author:
        assert self.staff is not None
        return self.staff.author

    def _audited(self, t: Transition, action: AuditAction, **details: Any) -> Transition:
        """``t`` with the audit entry this agent owes for it, committed with it."""
        assert self.staff is not None
        return audited(t, self.staff.actor, action, **details)

    async def _hello(self, token: str, list_updates: ListUpdates) -> None:
        if self.staff is not None:
            raise InvalidFrame("hello: this session already said hello")
        self.staff = await self.core.authenticate(token, CHAT_ROLES)
        self._token = token
        self._list_updates = list_updates
        self.follow(staff_topic(self.staff.id))
        await self.send(
            {
                "type": "welcome",
                "agent": {"id": self.staff.id, "name": self.staff.name, "role": self.staff.role},
            }
        )
        # Before the list, so that whatever follows the list is news, as before canned replies.
        self.follow(CANNED)
        await self.send({"type": "canned", "items": await canned.replies(self.core)})
        # A delta console gets its list from the lobby as it registers (see Lobby.register).
        self._leave_lobby = self.core.lobby.register(list_updates, self._push)
        if list_updates is ListUpdates.FULL:
            await self._list()

    async def _present(self, wanted: bool) -> None:
        """Count this console in the agent's presence; tell it everyone's if it asked."""
        assert self.staff is not None
        push = self._ephemeral if wanted else None
        view = await self.core.presence.console_opened(
            self._presence_key, self.staff.id, self.staff.name, push
        )
        if wanted:
            await self.send(staff_frame(view))
            await self.send(visitors_frame(view.visitors))
        await self._take_from_queue()

    async def _take_from_queue(self) -> None:
        """An agent may have become available: with PARLEY_AUTO_ASSIGN the queue is given out."""
        if self.core.auto_assign:
            await assignments.assign_queue(self.core)

    async def on_bus(self, topic: str, message: Message) -> None:
        if isinstance(message, StaffRevoked):
            raise Unauthorized(f"this token was revoked at {message.revoked_at}")
        if isinstance(message, CannedChanged):
            await self.send({"type": "canned", "items": list(message.replies["items"])})
            return
        await super().on_bus(topic, message)

    async def _list(self) -> None:
        """Whole summaries from the store; for a delta console, the list its deltas apply to."""
        if self._list_updates is ListUpdates.DELTA:
            self._push(self.core.lobby.list_text())
            return
        summaries = [c.to_dict() for c in await self.core.store.open_conversations()]
        summaries = self.core.lobby.marked(summaries)
        await self.send({"type": "conversations", "items": rules.waiting_first(summaries)})

    async def _join(self, conversation_id: str, last_seq: int) -> None:
        conv = await self._conversation(conversation_id)
        if conv.is_open:
            await self._claim_to_join(conversation_id)
            at = self.core.clock()

            def join(c: Conversation) -> Transition | None:
                t = rules.agent_join(c, self._me, at) if c.is_open else None
                return self._audited(t, AuditAction.AGENT_JOINED) if t else None

            applied = await self.core.store.apply(conversation_id, join)
            conv = applied.conversation
            if applied.event is not None:
                await self.core.committed(applied)
        await self._show("joined", conv, last_seq)

    async def _reply(self, frame: dict[str, Any]) -> None:
        assert self.staff is not None
        conversation_id, client_id, text = (
            frame["conversation_id"],
            frame["client_id"],
            frame["text"],
        )
        at = self.core.clock()
        applied = await self.core.store.apply(
            conversation_id,
            self._assignee_only(
                lambda c: self._audited(
                    rules.agent_reply(c, self._me, text, client_id, at), AuditAction.REPLIED
                )
            ),
            dedupe=f"agent:{self.staff.id}:{client_id}",
        )
        assert applied.event is not None
        await self.send(
            {
                "type": "ack",
                "client_id": client_id,
                "conversation_id": conversation_id,
                "seq": applied.event.seq,
                "at": applied.event.at,
            }
        )
        await self.core.committed(applied)

    async def _evidence(
        self, frame: dict[str, Any]
    ) -> tuple[PolicyVersion, PolicyVersion, list[Event]]:
        """The text the visitor accepted, the text governing it, and the events the agent
        quotes as examples."""
        conv = await self._conversation(frame["conversation_id"])
        quoted = sorted(frame.get("message_seqs", []))
        events = await self.core.store.events(conv.id, 0, quoted[-1]) if quoted else []
        by_seq = {e.seq: e for e in events}
        missing = [seq for seq in quoted if seq not in by_seq]
        if missing:
            raise BadEvidence(f"conversation {conv.id} has no event {missing[0]}")
        accepted, governing = await texts_for(self.core, conv.policy)
        return accepted, governing, [by_seq[seq] for seq in quoted]

    async def _close(self, frame: dict[str, Any]) -> None:
        accepted, governing, examples = await self._evidence(frame)
        clause = accepted.clause(frame["clause_id"])
        ban = None
        if "bar" in frame:
            assert self.staff is not None
            conv = await self._conversation(frame["conversation_id"])
            acceptance = (await self.core.store.events(conv.id, 0, 1))[0]
            ban = bans.place(
                frame["bar"],
                ban_id=self.core.ids("b"),
                visitor_id=conv.visitor_id,
                visitor_ip=acceptance.data["ip"],
                conversation_id=conv.id,
                clause=moderation.clause_record(clause),
                by=self.staff.id,
                at=self.core.clock(),
                governing_clause=moderation.governing_clause(accepted, governing, clause.id),
            )
        summary = {"id": ban.id, "until": ban.until, "network": ban.network} if ban else None

        def close(c: Conversation, at: datetime) -> Transition:
            t = moderation.close_for_violation(
                c,
                accepted,
                self._me,
                frame["clause_id"],
                frame.get("note"),
                at,
                examples,
                summary,
                governing=governing,
            )
            ban_id = ban.id if ban else None
            t = self._audited(t, AuditAction.CLOSED, clause_id=frame["clause_id"], ban_id=ban_id)
            return replace(t, ban=ban)

        await self._end(frame, close)

    async def _warn(self, frame: dict[str, Any]) -> None:
        accepted, governing, examples = await self._evidence(frame)
        at = self.core.clock()
        applied = await self.core.store.apply(
            frame["conversation_id"],
            self._assignee_only(
                lambda c: self._audited(
                    moderation.warn(
                        c,
                        accepted,
                        self._me,
                        frame["clause_id"],
                        frame.get("note"),
                        examples,
                        at,
                        governing=governing,
                    ),
                    AuditAction.WARNED,
                    clause_id=frame["clause_id"],
                )
            ),
        )
        assert applied.event is not None
        await self.send(
            {"type": "done", "request": "warn", "conversation_id": applied.conversation.id,
             "seq": applied.event.seq}
        )  # fmt: skip
        await self.core.committed(applied)

    async def _end(
        self, frame: dict[str, Any], decide: Callable[[Conversation, datetime], Transition]
    ) -> None:
        """Resolve or close in one commit; answer once its bar and audit entry are in force."""
        at = self.core.clock()
        applied = await self.core.store.apply(
            frame["conversation_id"], self._assignee_only(lambda c: decide(c, at))
        )
        assert applied.event is not None
        await self.core.store.settle()
        await self.send(
            {
                "type": "done",
                "request": frame["type"],
                "conversation_id": frame["conversation_id"],
                "seq": applied.event.seq,
            }
        )
        await self.core.committed(applied)
        # An ended conversation's head goes into the signed log at once.
        await evidence.anchor(self.core, [applied.conversation])

    async def _signal(self, frame: dict[str, Any]) -> None:
        """Typing or read state about a conversation this agent joined (never stored)."""
        assert self.staff is not None
        conversation_id = frame["conversation_id"]
        conv = signals.joined_conversation(
            await self.core.store.conversation(conversation_id), conversation_id, self.staff.id
        )
        sender = {"id": self.staff.id, "name": self.staff.name}
        if frame["type"] == "typing":
            signals.check_typing(conv)
            await self.signals.typing(conversation_id, frame["state"], sender)
        else:
            signals.check_read(frame["seq"], conv.last_seq)
            await self.signals.read(conversation_id, frame["seq"], sender)

    def close(self) -> None:
        super().close()
        self.core.presence.closed(self._presence_key)
        if self._leave_lobby is not None:
            self._leave_lobby()
            self._leave_lobby = None
