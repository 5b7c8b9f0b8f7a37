"""The webhook dispatcher against a real SQLite store: an attempt nobody answers is recorded
and retried later, a deleted endpoint's pending deliveries are given up unsent, the server's
log names ids but never the URL or the secret, and one process at a time dispatches."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from contract import start
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from harness import free_port
from parley.bus import MemoryBus
from parley.domain.audit import OPERATOR
from parley.domain.deliveries import DeliveryState
from parley.domain.transcript import parse_time
from parley.service import webhooks
from parley.service.core import Core, utc_now
from parley.service.webhooks import LEASE, LEASE_SECONDS, Dispatcher
from parley.store import open_store


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    store = await open_store(f"sqlite:{tmp_path / 'parley.db'}")
    yield Core(store, MemoryBus(), Ed25519PrivateKey.generate())
    await store.close()


def nobody() -> str:
    """A loopback URL nothing listens on, with a token in its query that must never be logged."""
    return f"http://127.0.0.1:{free_port()}/hooks?token=s3cret-in-the-url"


async def test_an_unanswered_attempt_is_recorded_and_due_again_after_the_base(
    core: Core, caplog: pytest.LogCaptureFixture
) -> None:
    endpoint = await webhooks.add_endpoint(core, nobody(), ["*"], None, OPERATOR)
    await start(core.store, "v_d1", "c_d10000000")
    dispatcher = Dispatcher(core.store, 1.0, 30.0, utc_now)
    caplog.set_level(logging.INFO, logger="parley.webhooks")
    async with httpx.AsyncClient() as client:
        await dispatcher.step(client)
    (delivery,) = (await core.store.deliveries(endpoint.id, None, 10)).items
    (attempt,) = delivery.attempts
    assert (attempt.status, attempt.error) == (None, "could not connect")
    assert delivery.state is DeliveryState.PENDING and delivery.next_at is not None
    waits = parse_time(delivery.next_at) - parse_time(attempt.at)
    assert waits == timedelta(seconds=30)
    assert await core.store.due_deliveries(utc_now(), 10) == [], "not due before the base"
    (record,) = [r for r in caplog.records if r.name == "parley.webhooks"]
    line = record.getMessage()
    assert endpoint.id in line and "conversation.started" in line
    assert getattr(record, "conversation_id", None) == "c_d10000000"
    assert "s3cret" not in line and endpoint.secret not in line and "127.0.0.1" not in line


async def test_a_deleted_endpoints_pending_delivery_is_given_up_unsent(core: Core) -> None:
    """Deleting stops future deliveries: one already made is failed without being sent."""
    endpoint = await webhooks.add_endpoint(core, nobody(), ["*"], None, OPERATOR)
    await start(core.store, "v_d2", "c_d20000000")
    await core.store.fan_out(utc_now(), 10)
    await webhooks.delete_endpoint(core, endpoint.id, OPERATOR)
    async with httpx.AsyncClient() as client:
        await Dispatcher(core.store, 1.0, 30.0, utc_now).step(client)
    (delivery,) = (await core.store.deliveries(endpoint.id, None, 10)).items
    assert delivery.state is DeliveryState.FAILED
    (attempt,) = delivery.attempts
    assert (attempt.status, attempt.error) == (None, "not sent: the endpoint was deleted")


async def test_a_dispatcher_sends_nothing_while_another_holds_the_lease(core: Core) -> None:
    """Multi-process: the process without the lease neither fans out nor sends."""
    await webhooks.add_endpoint(core, nobody(), ["*"], None, OPERATOR)
    await start(core.store, "v_d3", "c_d30000000")
    assert await core.store.take_lease(LEASE, "another process", utc_now(), LEASE_SECONDS)
    async with httpx.AsyncClient() as client:
        await Dispatcher(core.store, 1.0, 30.0, utc_now).while_held(client)
    assert [n for _, n in await core.store.notices(0, 10)], "journaled"
    assert await core.store.due_deliveries(utc_now(), 10) == [], "not fanned out"
