"""Fan-out of committed events to the connections that watch them."""

from parley.bus.base import Bus, Deliver
from parley.bus.memory import MemoryBus

__all__ = ["Bus", "Deliver", "MemoryBus"]
