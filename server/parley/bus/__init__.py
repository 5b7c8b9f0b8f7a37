"""Fan-out of committed events to the connections that watch them."""

from urllib.parse import urlsplit

from parley.bus.base import Bus, Deliver
from parley.bus.memory import MemoryBus

__all__ = ["Bus", "Deliver", "MemoryBus", "open_bus"]


def open_bus(store_url: str) -> Bus:
    """The bus that goes with the store: Redis pub/sub beside a Redis store, else in-process."""
    if urlsplit(store_url).scheme in ("redis", "rediss", "unix"):
        from parley.bus.redis import RedisBus

        return RedisBus(store_url)
    return MemoryBus()
