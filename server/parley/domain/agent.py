"""Staff accounts: agents, compliance officers and admins, known by a token's hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from parley.domain.audit import Actor
from parley.domain.transcript import Author, Role
from parley.errors import StaffNameTooLong

#: The longest staff name, in characters (code points). Visitors and agents see it beside
#: every message and in the audit trail; the UIs cut longer ones they meet with an ellipsis.
MAX_NAME_CHARS = 64


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


def staff_name(name: str) -> str:
    """``name`` if a new staff member may have it; StaffNameTooLong if it is over the limit."""
    if len(name) > MAX_NAME_CHARS:
        raise StaffNameTooLong(
            f"a staff name has at most {MAX_NAME_CHARS} characters; this one has {len(name)}"
        )
    return name


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
