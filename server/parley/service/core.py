"""What every session shares: the store, the bus, the lobby, the policy catalog, the clock, ids."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley import metrics
from parley.bus import messages
from parley.bus.base import Bus
from parley.config import Witness
from parley.domain import language as tags
from parley.domain import policy as policy_rules
from parley.domain.agent import Staff, StaffRole, staff_name, token_hash
from parley.domain.anchor import ORIGIN
from parley.domain.audit import Actor, AuditAction, AuditDraft, AuditEntry
from parley.domain.bans import Ban, longest
from parley.domain.policy import PolicyRef, PolicyVersion
from parley.domain.ratelimit import Limiter
from parley.domain.transcript import EventType, format_time
from parley.domain.widget import WidgetBuild
from parley.errors import Forbidden, PolicyInvalid, Unauthorized
from parley.service.lobby import Lobby
from parley.service.presence import Presence
from parley.service.publishing import Publisher
from parley.store.base import Applied, Store
from parley.store.presence import MemoryPresence, PresenceStore


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """An unguessable id: 128 random bits."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


def new_token() -> str:
    """A secret bearer token: 256 random bits."""
    return secrets.token_urlsafe(32)


@dataclass
class Core:
    store: Store
    bus: Bus
    #: Signs checkpoints of the transcript log (``parley keys``).
    key: Ed25519PrivateKey
    clock: Callable[[], datetime] = utc_now
    ids: Callable[[str], str] = new_id
    #: Messages per visitor, and new conversations per address (per process).
    message_limit: Limiter = field(default_factory=lambda: Limiter(20, 60))
    conversation_limit: Limiter = field(default_factory=lambda: Limiter(10, 3600))
    monotonic: Callable[[], float] = time.monotonic
    #: Where agents' and visitors' presence is kept (in memory, or Redis beside Redis).
    presence_store: PresenceStore = field(default_factory=MemoryPresence)
    #: Seconds between two typing or read signals relayed from one sender per conversation.
    typing_interval: float = 2.0
    #: Give each new conversation to the least busy available agent (PARLEY_AUTO_ASSIGN).
    auto_assign: bool = False
    #: The transparency log's origin line, in every checkpoint it signs.
    log_origin: str = ORIGIN
    #: The witnesses asked to cosign each new checkpoint.
    witnesses: tuple[Witness, ...] = ()
    #: The time-stamping authority (RFC 3161) that stamps each new checkpoint, and the
    #: certificates its tokens must verify under before they are kept.
    tsa_url: str | None = None
    tsa_certs: tuple[bytes, ...] = ()
    #: The widget build this server serves (read at start-up); None in a process serving none.
    widget: WidgetBuild | None = None
    #: The one subscriber to list changes in this process; agent consoles register with it.
    lobby: Lobby = field(init=False)
    #: This process's consoles' and widgets' presence, and what it tells them of everyone's.
    presence: Presence = field(init=False)
    #: Gets each new checkpoint cosigned by the witnesses.
    publisher: Publisher = field(init=False)
    _policies: dict[tuple[str, int], PolicyVersion] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lobby = Lobby(self.bus, self.store)
        self.presence = Presence(self.presence_store, self.bus, self.clock)
        self.publisher = Publisher(self.store, self.witnesses, self.tsa_url, self.tsa_certs)

    async def publish_policies(self, versions: list[PolicyVersion]) -> list[PolicyVersion]:
        """Publish every version (refusing changed text); return those newly published."""
        at = self.clock()
        fresh = [v for v in versions if await self.store.publish_policy(v, at)]
        await self.refresh_policies()
        return fresh

    async def refresh_policies(self) -> None:
        self._policies = {(v.policy_id, v.version): v for v in await self.store.policies()}

    def policies(self) -> list[PolicyVersion]:
        """Every published version known to this process."""
        return list(self._policies.values())

    def policy_in_force(self) -> PolicyVersion:
        version = policy_rules.in_force(self._policies.values(), self.clock())
        if version is None:
            raise PolicyInvalid(["no published policy version is in force yet"])
        return version

    async def governing(self, ref: PolicyRef) -> PolicyVersion:
        """The published version ``ref`` names, in its governing language, with every language
        it is published in (read again if ``ref``'s language was added since this process read it).
        """
        key = (ref.policy_id, ref.version)
        known = self._policies.get(key)
        if known is None or ref.language not in known.languages:
            await self.refresh_policies()
        return self._policies[key]

    async def policy(self, ref: PolicyRef) -> PolicyVersion:
        """The text ``ref`` names: its version in the language ``ref`` names (a published
        language never changes, so caching is exact)."""
        return (await self.governing(ref)).for_language(ref.language)

    async def authenticate(self, token: str | None, allowed: frozenset[StaffRole]) -> Staff:
        """The staff member holding ``token``; raise Unauthorized or Forbidden."""
        if not token:
            raise Unauthorized("a staff token is required")
        staff = await self.store.staff_by_token(token_hash(token))
        if staff is None:
            raise Unauthorized("this token matches no staff member")
        if staff.revoked_at is not None:
            raise Unauthorized(f"this token was revoked at {staff.revoked_at}")
        if staff.role not in allowed:
            roles = ", ".join(sorted(r.value for r in allowed))
            raise Forbidden(f"role {staff.role.value} may not do this; it needs {roles}")
        return staff

    async def add_staff(self, name: str, role: StaffRole, by: Actor) -> tuple[Staff, str]:
        """Create a staff member; return it and its token (shown once, stored only hashed).

        Raises StaffNameTooLong, having stored nothing, for a name over MAX_NAME_CHARS.
        """
        token = new_token()
        staff = Staff(self.ids("s"), staff_name(name), role, format_time(self.clock()))
        await self.store.add_staff(staff, token_hash(token))
        await self.audit(
            AuditDraft(by, AuditAction.STAFF_ADDED, staff_id=staff.id, details={"role": role})
        )
        return staff, token

    async def revoke_staff(self, staff_id: str, by: Actor) -> Staff | None:
        """Revoke a token at once: new requests are refused and open sockets are closed."""
        staff = await self.store.revoke_staff(staff_id, self.clock())
        if staff is not None:
            await self.audit(AuditDraft(by, AuditAction.STAFF_REVOKED, staff_id=staff_id))
            await self.bus.publish(messages.StaffRevoked(staff_id, staff.revoked_at or ""))
        return staff

    async def bar_on(self, visitor_id: str | None, ip: str | None) -> Ban | None:
        """The bar that keeps this visitor or address out now, if any (the longest).

        Bars placed by committed closures count even if another process has not
        yet applied them from the outbox: the store settles first.
        """
        await self.store.settle()
        return longest(await self.store.bars_on(visitor_id, ip, self.clock()))

    async def lift_ban(self, ban_id: str, reason: str, by: Actor) -> Ban | None:
        ban = await self.store.lift_ban(ban_id, by.id, reason, self.clock())
        if ban is not None:
            await self.audit(
                AuditDraft(by, AuditAction.BAN_LIFTED, ban.conversation_id,
                           details={"ban_id": ban_id, "reason": reason})
            )  # fmt: skip
        return ban

    async def audit(self, draft: AuditDraft) -> AuditEntry:
        """Record a privileged action that is not a transcript event in the audit trail.

        Actions on a conversation commit their audit entry with their event
        (:attr:`Transition.audit`); this is for the rest (staff, bars, exports).
        Outbox entries owed before it are sealed first, so a conversation's
        audit thread keeps the order of its actions.
        """
        if draft.conversation_id is not None:
            await self.store.settle()
        return await self.store.append_audit(draft, self.clock())

    async def committed(self, applied: Applied) -> None:
        """Announce a committed action: the one place that publishes one (nothing on a retry)."""
        if applied.duplicate:
            return
        conv, event = applied.conversation, applied.event
        if event is not None and event.type is EventType.CLOSED and conv.closed_clause:
            metrics.closed(conv.policy.policy_id, conv.closed_clause, bool(event.data.get("bar")))
        await self.bus.committed(messages.committed(conv, event))


def policy_view(version: PolicyVersion, language: str | None = None) -> dict[str, Any]:
    """A published version as clients see it: metadata, canonical text in ``language`` (one of
    the version's languages; by default the governing one), its digest and clauses, and the
    languages the version is published in with the digest of the governing text."""
    text = version.for_language(language or version.language)
    return {
        "policy_id": text.policy_id,
        "version": text.version,
        "title": text.title,
        "effective": text.to_document()["effective"],
        "sha256": text.sha256,
        "text": text.text,
        "clauses": [{"id": c.id, "title": c.title, "text": c.text} for c in text.clauses.values()],
        "language": text.language,
        "direction": tags.direction(text.language),
        "languages": list(version.languages),
        "governing_language": version.governing_language,
        "governing_sha256": version.sha256,
    }
