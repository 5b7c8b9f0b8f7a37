"""Token buckets: how many actions a visitor (or an address) may take, and when again.

Pure: the caller passes the time (monotonic seconds) and keeps the bucket.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Bucket:
    """``capacity`` tokens at most, refilled at ``rate`` tokens per second."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    @classmethod
    def full(cls, capacity: float, rate: float, now: float) -> Bucket:
        return cls(capacity, rate, capacity, now)

    def at(self, now: float) -> Bucket:
        """The bucket refilled up to ``now``."""
        tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        return replace(self, tokens=tokens, updated=max(now, self.updated))

    def take(self, now: float) -> tuple[Bucket, float | None]:
        """Spend one token: the new bucket, and ``None`` or the seconds to wait if empty."""
        current = self.at(now)
        if current.tokens >= 1:
            return replace(current, tokens=current.tokens - 1), None
        return current, (1 - current.tokens) / self.rate

    def is_full(self, now: float) -> bool:
        return self.at(now).tokens >= self.capacity


class Limiter:
    """Buckets by key (a visitor id, an address); idle full buckets are forgotten."""

    def __init__(self, capacity: float, per_seconds: float, max_keys: int = 100_000) -> None:
        self.capacity = capacity
        self.rate = capacity / per_seconds
        self.max_keys = max_keys
        self._buckets: dict[str, Bucket] = {}

    def take(self, key: str, now: float) -> float | None:
        """Spend one token of ``key``; ``None``, or how many seconds until one is free."""
        bucket = self._buckets.get(key) or Bucket.full(self.capacity, self.rate, now)
        bucket, wait = bucket.take(now)
        self._buckets[key] = bucket
        if len(self._buckets) > self.max_keys:
            self._buckets = {k: b for k, b in self._buckets.items() if not b.is_full(now)}
        return wait
