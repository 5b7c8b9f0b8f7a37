"""Canned replies: texts an admin prepares, which agents insert by typing ``/shortcut``.

A reply is ``{id, shortcut, text, updated_at}``; shortcuts are unique. The
admin API checks shape and limits (:data:`SHORTCUT_PATTERN`, :data:`MAX_TEXT`)
before anything reaches the store; the store refuses a shortcut already taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Lower-case letters, digits, ``-`` and ``_``, starting with a letter or digit: what an
#: agent types after ``/`` in the reply box.
SHORTCUT_PATTERN = "^[a-z0-9][a-z0-9_-]{0,31}$"
#: The longest text of one canned reply (well under a message's limit).
MAX_TEXT = 2000


@dataclass(frozen=True)
class CannedReply:
    id: str
    shortcut: str
    text: str
    updated_at: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "shortcut": self.shortcut,
            "text": self.text,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CannedReply:
        return cls(d["id"], d["shortcut"], d["text"], d["updated_at"])


def listing(replies: list[CannedReply]) -> list[dict[str, str]]:
    """Replies as clients get them: by shortcut."""
    return [r.to_dict() for r in sorted(replies, key=lambda r: r.shortcut)]
