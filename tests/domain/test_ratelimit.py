"""Token buckets for flooding: pure, with the time passed in."""

from __future__ import annotations

import pytest

from parley.domain.ratelimit import Bucket, Limiter


def test_a_full_bucket_allows_a_burst_then_says_how_long_to_wait() -> None:
    bucket = Bucket.full(capacity=3, rate=1.0, now=0.0)
    waits = []
    for _ in range(4):
        bucket, wait = bucket.take(0.0)
        waits.append(wait)
    assert waits[:3] == [None, None, None]
    assert waits[3] == pytest.approx(1.0)


def test_tokens_come_back_at_the_rate_and_never_above_capacity() -> None:
    bucket = Bucket.full(capacity=2, rate=0.5, now=0.0)
    bucket, _ = bucket.take(0.0)
    bucket, _ = bucket.take(0.0)
    assert bucket.take(1.0)[1] == pytest.approx(1.0), "half a token after one second"
    assert bucket.take(2.0)[1] is None
    assert bucket.at(1000.0).tokens == 2


def test_the_limiter_keeps_one_bucket_per_key() -> None:
    limiter = Limiter(capacity=1, per_seconds=60)
    assert limiter.take("visitor-a", 0.0) is None
    assert limiter.take("visitor-a", 0.0) == pytest.approx(60.0)
    assert limiter.take("visitor-b", 0.0) is None, "one visitor's flood never limits another"


def test_the_limiter_forgets_idle_keys_when_it_grows() -> None:
    limiter = Limiter(capacity=1, per_seconds=1, max_keys=10)
    for i in range(11):
        limiter.take(f"k{i}", 0.0)
    limiter.take("late", 100.0)
    assert limiter.take("k0", 100.0) is None
    assert len(limiter._buckets) <= 2
