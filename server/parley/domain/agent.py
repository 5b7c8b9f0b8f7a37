"""Staff accounts: agents, compliance officers and admins, known by a token's hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from parley.domain.audit import Actor
from parley.domain.transcript import Author, Role


class StaffRole(StrEnum):
    AGENT = "agent"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


#: who may do what; admin may do everything
CHAT_ROLES = frozenset({StaffRole.AGENT, StaffRole.ADMIN})
EVIDENCE_ROLES = frozenset({StaffRole.COMPLIANCE, StaffRole.ADMIN})


def token_hash(token: str) -> str:
    """Tokens are 256-bit random strings, so a plain SHA-256 is a safe one-way hash."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Staff:
    id: str
    name: str
    role: StaffRole
    created_at: str
    revoked_at: str | None = None

    @property
    def author(self) -> Author:
        return Author(Role.AGENT, self.id, self.name)

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.name, self.role.value)

    def to_dict(self) -> dict[str, str | None]:
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role.value,
            "created_at": self.created_at,
            "revoked_at": self.revoked_at,
        }
