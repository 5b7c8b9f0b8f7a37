"""Where presence lives: entries that expire, shared by every process that shares the store.

Each entry has a kind (``agent``, ``visitor``, ``gone``), a key and a small JSON
value, and lives for its time to live (from a time in seconds since the epoch)
unless put again: a process refreshes the entries of its open
connections, so those of a process that died expire on their own. Beside
SQLite (one process) the entries are kept in memory; beside Redis, in Redis
(:mod:`parley.store.redis_presence`). Presence is never part of the record.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit


class PresenceStore(ABC):
    @abstractmethod
    async def put(
        self,
        kind: str,
        key: str,
        value: Mapping[str, Any],
        now: float,
        ttl: float,
        *,
        only_new: bool = False,
    ) -> bool:
        """Set an entry for ``ttl`` seconds from ``now``; with ``only_new``, only if no live
        entry has the key.

        Returns whether it was set. Atomic: of two processes putting ``only_new``, one wins.
        """

    @abstractmethod
    async def refresh(
        self, kind: str, entries: Mapping[str, Mapping[str, Any]], now: float, ttl: float
    ) -> None:
        """Set every one of ``entries`` for ``ttl`` seconds from ``now``, in as few round
        trips as the store allows: a process keeping all its connections' entries alive."""

    @abstractmethod
    async def drop(self, kind: str, key: str) -> None:
        """Remove an entry (nothing if there is none)."""

    @abstractmethod
    async def live(self, kind: str, now: float) -> dict[str, dict[str, Any]]:
        """Every entry of ``kind`` that expires after ``now``, by key (expired ones are purged)."""

    @abstractmethod
    async def close(self) -> None:
        """Release what the store holds."""


class MemoryPresence(PresenceStore):
    """One process's presence: nothing to share."""

    def __init__(self) -> None:
        self._entries: defaultdict[str, dict[str, tuple[float, dict[str, Any]]]] = defaultdict(dict)

    async def put(
        self,
        kind: str,
        key: str,
        value: Mapping[str, Any],
        now: float,
        ttl: float,
        *,
        only_new: bool = False,
    ) -> bool:
        entries = self._entries[kind]
        if only_new and key in entries and entries[key][0] > now:
            return False
        entries[key] = (now + ttl, dict(value))
        return True

    async def refresh(
        self, kind: str, entries: Mapping[str, Mapping[str, Any]], now: float, ttl: float
    ) -> None:
        self._entries[kind].update({k: (now + ttl, dict(v)) for k, v in entries.items()})

    async def drop(self, kind: str, key: str) -> None:
        self._entries[kind].pop(key, None)

    async def live(self, kind: str, now: float) -> dict[str, dict[str, Any]]:
        entries = self._entries[kind]
        for key in [k for k, (expires, _) in entries.items() if expires <= now]:
            del entries[key]
        return {k: dict(v) for k, (_, v) in entries.items()}

    async def close(self) -> None:
        self._entries.clear()


def open_presence(store_url: str) -> PresenceStore:
    """The presence store that goes with the store: Redis beside Redis, else in memory."""
    if urlsplit(store_url).scheme in ("redis", "rediss", "unix"):
        from parley.store.redis_presence import RedisPresence

        return RedisPresence(store_url)
    return MemoryPresence()
