"""A visitor's session: identity, the policy gate, messages, resume."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from parley import metrics
from parley.bus.base import POLICY, visitor_topic
from parley.bus.messages import ConversationStarted, Flooding, Message, PolicyInForce
from parley.domain import conversation as rules
from parley.domain import language as tags
from parley.domain.agent import token_hash
from parley.domain.bans import Ban
from parley.domain.conversation import Answer, ClientContext, Conversation, Transition
from parley.domain.policy import PolicyRef, PolicyVersion
from parley.domain.transcript import ENDINGS, EventType, Role
from parley.errors import (
    AlreadyAccepted,
    Barred,
    HelloRequired,
    InvalidFrame,
    InvalidResumeToken,
    PolicyMismatch,
    PolicyNotAccepted,
    RateLimited,
)
from parley.protocol.errors import error_frame
from parley.service import assignments, receipts, signals
from parley.service.core import Core, new_token, policy_view
from parley.service.feed import Send
from parley.service.lobby import Push
from parley.service.presence import team_frame
from parley.service.session import Session

#: Seconds between two "flooding" flags about one visitor.
FLAG_EVERY = 10.0
#: Events the visitor is sent a receipt of as they arrive (the acceptance's comes with accepted).
RECEIPTED = frozenset({EventType.WARNING, EventType.CLOSED})


def policy_offer(version: PolicyVersion, language: str) -> dict[str, Any]:
    """The frame that shows a visitor the version in force in ``language`` (one of its
    languages), to accept by echoing that text's digest."""
    return {"type": "policy", **policy_view(version, language)}


def in_force_ref(view: Mapping[str, Any]) -> PolicyRef:
    """The governing text of a version announced in force (a :func:`policy_view`)."""
    return PolicyRef(
        view["policy_id"], view["version"], view["governing_sha256"], view["governing_language"]
    )


def barred_notice(ban: Ban) -> dict[str, Any]:
    """What a barred visitor is told instead of being offered the policy: when the bar ends,
    the clause (as the visitor read it), the closed conversation's id to quote when contesting
    it (``reference``), and all of that in an English sentence (``message``), for clients that
    do not compose their own in the visitor's language."""
    until = f"until {ban.until} (UTC)" if ban.until else "permanently"
    clause = ban.clause
    return {
        "type": "barred",
        "until": ban.until,
        "clause": dict(clause),
        "reference": ban.conversation_id,
        "message": (
            f"You cannot start a conversation {until}, because an earlier conversation broke "
            f'rule {clause["id"]}, "{clause["title"]}", of our conduct policy. You can contest '
            f"this as the policy describes, quoting the reference {ban.conversation_id}."
        ),
    }


def barred_error(ban: Ban) -> Barred:
    """The refusal of a barred visitor's request: the notice's fields, as an error."""
    return Barred(barred_notice(ban)["message"], ban.until, ban.clause, ban.conversation_id)


def visitor_view(conv: Conversation) -> dict[str, Any]:
    """What a visitor may know of their own conversation."""
    return {
        "id": conv.id,
        "state": conv.state.value,
        "policy": {
            "policy_id": conv.policy.policy_id,
            "version": conv.policy.version,
            "sha256": conv.policy.sha256,
            "language": conv.policy.language,
        },
        "started_at": conv.started_at,
        "last_seq": conv.last_seq,
    }


class VisitorSession(Session):
    side = Role.VISITOR

    def __init__(
        self,
        core: Core,
        send: Send,
        subscribe: Callable[[str], Callable[[], None]],
        *,
        ip: str | None,
        user_agent: str | None,
        accept_language: str | None = None,
        ephemeral: Push | None = None,
    ) -> None:
        super().__init__(core, send, subscribe)
        #: Queues presence frames if there is room (see parley.service.presence).
        self._ephemeral = ephemeral
        self._presence_key = core.ids("p")
        self.ip = ip
        self.user_agent = user_agent
        self.visitor_id: str | None = None
        self.client = ClientContext(ip, user_agent)
        #: The languages the browser asked for on the WebSocket handshake, most wanted first.
        self._accept_languages = tags.accept_language(accept_language)
        #: The language the visitor chose with a ``language`` frame, for every later offer.
        self.language: str | None = None
        self.conversation: Conversation | None = None
        self._offered_after: str | None = None
        self._flagged_at = -FLAG_EVERY

    async def handle(self, frame: dict[str, Any]) -> None:
        """Act on one validated frame; raise a ParleyError for the client to be told."""
        kind = frame["type"]
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "hello":
            await self._hello(frame)
        elif self.visitor_id is None:
            raise HelloRequired("say hello first")
        elif kind == "accept":
            await self._accept(frame)
        elif kind == "language":
            await self._language(frame)
        elif kind == "message":
            await self._message(frame)
        elif kind == "heartbeat":
            await self.core.presence.widget_seen(self._presence_key, idle=frame["idle"])
            await self.send({"type": "pong"})  # so the widget knows the line works
        elif kind == "contact":
            await self._contact(frame)
        elif kind == "typing":
            await self._typing(frame)
        elif kind == "read":
            await self._read(frame)
        elif kind == "receipts":
            await self._receipts(frame)

    async def _hello(self, frame: dict[str, Any]) -> None:
        if self.visitor_id is not None:
            raise InvalidFrame("hello: this session already said hello")
        token = frame.get("token")
        issued: str | None = None
        if token:
            visitor_id = await self.core.store.visitor_by_token(token_hash(token))
            if visitor_id is None:
                raise InvalidResumeToken(
                    "this resume token matches no visitor; say hello without a token"
                )
        else:
            visitor_id, issued = self.core.ids("v"), new_token()
            await self.core.store.create_visitor(visitor_id, token_hash(issued), self.core.clock())
        client = frame.get("client") or {}
        self.client = ClientContext(
            self.ip,
            self.user_agent,
            client.get("locale"),
            client.get("page_url"),
            client.get("widget_build"),
            client.get("time_zone"),
            client.get("script_url"),
            client.get("integrity"),
        )
        self.visitor_id = visitor_id
        self.follow(visitor_topic(visitor_id))
        self.follow(POLICY)
        self.conversation = await self.core.store.latest_conversation(visitor_id)
        welcome: dict[str, Any] = {
            "type": "welcome",
            "visitor_id": visitor_id,
            "conversation": visitor_view(self.conversation) if self.conversation else None,
        }
        if issued is not None:
            welcome["token"] = issued
        await self.send(welcome)
        await self._present(frame.get("presence", False))
        if self.conversation is not None:
            resume = frame.get("resume") or {}
            same = resume.get("conversation_id") == self.conversation.id
            await self.watch(
                self.conversation, resume.get("last_seq", 0) if same else 0, self._on_event
            )
        await self._offer_if_ended()

    async def _present(self, wanted: bool) -> None:
        """Count this widget as online; tell it the team's state now and on change if it asked."""
        assert self.visitor_id is not None
        current = self.conversation
        team = await self.core.presence.widget_opened(
            self._presence_key,
            self.visitor_id,
            current.id if current is not None and current.is_open else None,
            self._ephemeral if wanted else None,
        )
        if wanted:
            await self.send(team_frame(team))

    async def _offer_if_ended(self) -> None:
        """Offer the version in force once per ended (or absent) conversation."""
        current = self.conversation
        key = current.id if current is not None else ""
        if (current is None or not current.is_open) and self._offered_after != key:
            self._offered_after = key
            ban = await self.core.bar_on(self.visitor_id, self.ip)
            if ban is not None:
                await self.send(barred_notice(ban))
            else:
                await self._offer(self.core.policy_in_force())

    def _language_of(self, version: PolicyVersion) -> str:
        """The language to offer ``version`` in: the visitor's choice, else the widget's locale,
        else the handshake's Accept-Language, else the governing language."""
        return version.negotiate(
            self.language, self.client.locale, *self._accept_languages
        ).language

    async def _offer(self, version: PolicyVersion) -> None:
        await self.send(policy_offer(version, self._language_of(version)))

    async def _language(self, frame: dict[str, Any]) -> None:
        """Offer the version in force in the language asked for, and remember it.

        Refused (nothing changes) while a conversation is open: its policy was accepted in
        one language, and the choice applies to the next offer only.
        """
        current = self.conversation
        if current is not None and current.is_open:
            raise AlreadyAccepted(
                f"conversation {current.id} is open under the policy accepted in "
                f"{current.policy.language!r}; choose the language of the next offer after it ends"
            )
        ban = await self.core.bar_on(self.visitor_id, self.ip)
        if ban is not None:
            raise barred_error(ban)
        version = self.core.policy_in_force()
        text = version.in_language(frame["language"])
        self.language = text.language
        await self.send(policy_offer(version, text.language))

    async def on_bus(self, topic: str, message: Message) -> None:
        if isinstance(message, PolicyInForce):
            # A new version came into force: a visitor still at the gate must see it.
            waiting = self.conversation is None or not self.conversation.is_open
            if waiting and await self.core.bar_on(self.visitor_id, self.ip) is None:
                await self._offer(await self.core.governing(in_force_ref(message.policy)))
            return
        if not isinstance(message, ConversationStarted):
            await super().on_bus(topic, message)
            return
        started = message.conversation
        current = self.conversation
        if current is not None and current.id == started["id"]:
            return
        # The visitor accepted in another tab: follow the new conversation here too.
        conversation = await self.core.store.conversation(started["id"])
        if conversation is None:
            return
        if current is not None:
            self.unwatch(current.id)
        self.conversation = conversation
        receipt = await receipts.of_event(self.core, conversation, 1)
        await self.send(
            {"type": "accepted", "conversation": visitor_view(conversation), "receipt": receipt}
        )
        await self.core.presence.widget_seen(self._presence_key, conversation_id=conversation.id)
        await self.watch(conversation, 0, self._on_event)

    async def _on_event(self, event: dict[str, Any]) -> None:
        if EventType(event["type"]) in RECEIPTED and self.conversation is not None:
            # Signed from the store's copy: what the visitor keeps is what was committed.
            receipt = await receipts.of_event(self.core, self.conversation, event["seq"])
            if receipt is not None:
                await self.send({"type": "receipt", "receipt": receipt})
        if EventType(event["type"]) in ENDINGS and self.conversation is not None:
            self.conversation = await self.core.store.conversation(self.conversation.id)
            await self._offer_if_ended()

    async def _flag_flooding(self, conv: Conversation) -> None:
        """Tell agents the visitor is flooding, at most every FLAG_EVERY seconds."""
        now = self.core.monotonic()
        if now - self._flagged_at >= FLAG_EVERY:
            self._flagged_at = now
            await self.core.bus.publish(Flooding(conv.id))

    async def _accept(self, frame: dict[str, Any]) -> None:
        assert self.visitor_id is not None
        visitor_id = self.visitor_id
        ban = await self.core.bar_on(visitor_id, self.ip)
        if ban is not None:
            raise barred_error(ban)
        wait = self.core.conversation_limit.take(self.ip or visitor_id, self.core.monotonic())
        if wait is not None:
            metrics.rate_limited("conversation")
            raise RateLimited(f"too many new conversations; try again in {wait:.0f} s", wait)
        offered = self.core.policy_in_force()
        answer = Answer(
            frame["policy_id"], frame["version"], frame["sha256"], frame.get("language")
        )
        conversation_id = self.core.ids("c")
        at = self.core.clock()
        try:
            applied = await self.core.store.start_conversation(
                visitor_id,
                lambda previous: rules.start(
                    conversation_id=conversation_id,
                    visitor_id=visitor_id,
                    previous=previous,
                    offered=offered,
                    answer=answer,
                    client=self.client,
                    at=at,
                    affirmation=frame.get("affirmation"),
                    served_widget=self.core.widget,
                ),
            )
        except PolicyMismatch as e:
            await self.send(error_frame(e, request="accept"))
            await self._offer(offered)
            return
        assert applied.event is not None  # a start always records the acceptance
        previous = self.conversation
        if previous is not None:
            self.unwatch(previous.id)
        self.conversation = applied.conversation
        await self.send(
            {
                "type": "accepted",
                "conversation": visitor_view(applied.conversation),
                "receipt": receipts.issue(self.core, applied.event, applied.conversation),
            }
        )
        await self.core.presence.widget_seen(
            self._presence_key, conversation_id=applied.conversation.id
        )
        await self.watch(applied.conversation, 0, self._on_event)
        await self.core.committed(applied)
        await self.core.bus.publish(
            ConversationStarted(visitor_id, visitor_view(applied.conversation))
        )
        if self.core.auto_assign:
            await assignments.auto_assign(self.core, applied.conversation.id)

    async def _message(self, frame: dict[str, Any]) -> None:
        current = self.conversation
        if current is None:
            raise PolicyNotAccepted("accept the conduct policy before sending messages")
        wait = self.core.message_limit.take(current.visitor_id, self.core.monotonic())
        if wait is not None:
            metrics.rate_limited("message")
            await self._flag_flooding(current)
            raise RateLimited(f"too many messages; try again in {wait:.0f} s", wait)
        client_id, text, at = frame["client_id"], frame["text"], self.core.clock()
        await self._add(
            current.id, client_id, lambda conv: rules.visitor_message(conv, text, client_id, at)
        )

    async def _contact(self, frame: dict[str, Any]) -> None:
        """Away mode: keep the e-mail address the visitor left, in their accepted conversation."""
        current = self.conversation
        if current is None:
            raise PolicyNotAccepted("accept the conduct policy before leaving an e-mail address")
        client_id, email, at = frame["client_id"], frame["email"], self.core.clock()
        await self._add(
            current.id, client_id, lambda conv: rules.leave_contact(conv, email, client_id, at)
        )

    async def _add(
        self, conversation_id: str, client_id: str, decide: Callable[[Conversation], Transition]
    ) -> None:
        """Commit the visitor's event once per ``client_id``, acknowledge it, announce it."""
        applied = await self.core.store.apply(
            conversation_id, decide, dedupe=f"visitor:{client_id}"
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

    def close(self) -> None:
        super().close()
        self.core.presence.closed(self._presence_key)

    async def _typing(self, frame: dict[str, Any]) -> None:
        conv = signals.own_conversation(self.conversation, frame)
        signals.check_typing(conv)
        await self.signals.typing(conv.id, frame["state"], {})

    async def _read(self, frame: dict[str, Any]) -> None:
        conv = signals.own_conversation(self.conversation, frame)
        # The session's copy is not moved by each message: the store knows the last seq.
        stored = await self.core.store.conversation(conv.id)
        signals.check_read(frame["seq"], stored.last_seq if stored else conv.last_seq)
        await self.signals.read(conv.id, frame["seq"], {})

    async def _receipts(self, frame: dict[str, Any]) -> None:
        """Every receipt of the visitor's conversation (their current one unless named), anew."""
        assert self.visitor_id is not None
        conversation = await receipts.visitors_conversation(
            self.core, self.visitor_id, self.conversation, frame.get("conversation_id")
        )
        await self.send(
            {
                "type": "receipts",
                "conversation_id": conversation.id,
                "receipts": await receipts.of_conversation(self.core, conversation),
            }
        )
