"""Storage backends behind one interface; :func:`open_store` is the one switch."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from parley import metrics
from parley.store.base import Applied, Page, Store

__all__ = ["Applied", "Page", "Store", "open_store"]


async def open_store(url: str) -> Store:
    """Open the store named by ``url``: ``sqlite:PATH`` (embedded) or ``redis://HOST:PORT/DB``.

    Every command of the :class:`Store` interface is timed into ``parley_store_command_seconds``.
    Raises :class:`ValueError` for a scheme no backend handles.
    """
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss", "unix"):
        from parley.store.redis import RedisStore

        return metrics.timed_store(await RedisStore.open(url), "redis", Store)
    if parts.scheme == "sqlite":
        from parley.store.sqlite import SQLiteStore

        path = parts.path if not parts.netloc else parts.netloc + parts.path
        if not path:
            raise ValueError(f"store URL {url!r} names no file")
        return metrics.timed_store(await SQLiteStore.open(Path(path)), "sqlite", Store)
    raise ValueError(
        f"store URL {url!r}: unsupported scheme {parts.scheme!r} (use sqlite:PATH or redis://HOST:PORT/DB)"
    )
