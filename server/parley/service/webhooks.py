"""Webhooks: admins register endpoints; the dispatcher delivers the journal's notices.

**Endpoints.** :func:`add_endpoint` checks the URL and event types
(:mod:`parley.domain.webhooks`), makes a fresh secret (shown once), stores the
endpoint and audits it; :func:`delete_endpoint` stops future deliveries and keeps
the log.

**The dispatcher** (:class:`Dispatcher`, one per serving process) works while
its process holds the store lease ``webhooks``, so one process at a time
dispatches (on Redis, the others wait to take over within :data:`LEASE_SECONDS`
of the holder dying). Each pass it fans the journal's new notices out to the
endpoints that want them (:meth:`Store.fan_out`: exactly once), then POSTs every
due delivery, signed, with ``PARLEY_WEBHOOK_TIMEOUT``, never following a
redirect, and records the attempt (a 2xx delivers; anything else is retried on
the backoff schedule until it fails for good). Delivery is at least once: a crash
after sending and before recording sends the same ``webhook-id`` again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx

from parley.domain.audit import Actor, AuditAction, AuditDraft
from parley.domain.deliveries import Attempt, Delivery, signed_headers
from parley.domain.transcript import format_time
from parley.domain.webhooks import Endpoint, endpoint_url, new_secret, subscription
from parley.errors import StoreUnavailable, WebhookNotFound
from parley.service.core import Core
from parley.store.base import Page, Store

log = logging.getLogger("parley.webhooks")

#: The store lease one dispatching process holds, and how long it lasts unrenewed.
LEASE = "webhooks"
LEASE_SECONDS = 6.0
#: Seconds between two passes over the journal and the due deliveries.
POLL_SECONDS = 0.5
#: Most notices fanned out, and most deliveries sent, in one step.
BATCH = 100


async def add_endpoint(
    core: Core, url: str, events: Sequence[str], description: str | None, by: Actor
) -> Endpoint:
    """Store a new endpoint with a fresh secret (the returned endpoint holds it); audited.

    Raises InvalidWebhook, storing nothing, for a URL or event types it cannot use.
    """
    endpoint = Endpoint(
        id=core.ids("whk"),
        url=endpoint_url(url),
        events=subscription(events),
        secret=new_secret(secrets.token_bytes(24)),
        created_at=format_time(core.clock()),
        created_by=by.id,
        description=description,
    )
    await core.store.add_webhook(endpoint)
    details = {"id": endpoint.id, "url": endpoint.url, "events": list(endpoint.events)}
    await core.audit(AuditDraft(by, AuditAction.WEBHOOK_ADDED, details=details))
    return endpoint


async def delete_endpoint(core: Core, endpoint_id: str, by: Actor) -> Endpoint:
    """Stop deliveries to the endpoint (its log stays); WebhookNotFound if unknown.

    Deleting again changes nothing and is not audited again.
    """
    at = format_time(core.clock())
    endpoint = await core.store.delete_webhook(endpoint_id, at)
    if endpoint is None:
        raise WebhookNotFound(f"no webhook endpoint {endpoint_id}")
    if endpoint.deleted_at == at:
        details = {"id": endpoint.id, "url": endpoint.url}
        await core.audit(AuditDraft(by, AuditAction.WEBHOOK_DELETED, details=details))
    return endpoint


async def delivery_log(
    core: Core, endpoint_id: str, cursor: str | None, limit: int
) -> Page[Delivery]:
    """The endpoint's deliveries, newest first; WebhookNotFound for an id never used."""
    if await core.store.webhook(endpoint_id) is None:
        raise WebhookNotFound(f"no webhook endpoint {endpoint_id}")
    return await core.store.deliveries(endpoint_id, cursor, limit)


def failure(error: httpx.HTTPError | httpx.InvalidURL, timeout: float) -> str:
    """What went wrong with an attempt that got no answer, in words (never the URL)."""
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {timeout:g} s"
    if isinstance(error, httpx.ConnectError):
        return "could not connect"
    return f"the request failed ({type(error).__name__})"


@dataclass
class Dispatcher:
    """Delivers webhooks while this process holds the lease (see the module's doc)."""

    store: Store
    timeout: float
    retry_base: float
    clock: Callable[[], datetime]
    holder: str = ""

    def __post_init__(self) -> None:
        self.holder = self.holder or secrets.token_hex(8)

    async def run(self) -> None:
        """Dispatch whenever this process holds the lease; forever (cancel to stop)."""
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
            try:
                while True:
                    try:
                        await self.while_held(client)
                    except StoreUnavailable as e:
                        log.warning("webhooks could not be dispatched (%s); retrying", e)
                    await asyncio.sleep(POLL_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await self.store.release_lease(LEASE, self.holder)

    async def while_held(self, client: httpx.AsyncClient) -> None:
        """Take the lease and dispatch until it is lost; return at once if another holds it."""
        if not await self.store.take_lease(LEASE, self.holder, self.clock(), LEASE_SECONDS):
            return
        keeper = asyncio.create_task(self._keep_lease())
        try:
            while not keeper.done():
                await self.step(client)
                await asyncio.sleep(POLL_SECONDS)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)

    async def _keep_lease(self) -> None:
        """Renew the lease until another holder has it (returns) or the store fails (raises)."""
        while True:
            await asyncio.sleep(LEASE_SECONDS / 3)
            if not await self.store.take_lease(LEASE, self.holder, self.clock(), LEASE_SECONDS):
                return

    async def step(self, client: httpx.AsyncClient) -> None:
        """Fan out every new notice, then send every delivery due now."""
        while await self.store.fan_out(self.clock(), BATCH) > 0:
            pass
        due = await self.store.due_deliveries(self.clock(), BATCH)
        endpoints: dict[str, Endpoint | None] = {}
        for d in due:
            if d.endpoint_id not in endpoints:
                endpoints[d.endpoint_id] = await self.store.webhook(d.endpoint_id)
        await asyncio.gather(*(self.send(client, d, endpoints[d.endpoint_id]) for d in due))

    async def send(self, client: httpx.AsyncClient, d: Delivery, to: Endpoint | None) -> None:
        """One attempt of ``d``, recorded (nothing sent if its endpoint was deleted)."""
        if to is None or to.deleted_at is not None:
            await self.store.save_delivery(d.dropped(format_time(self.clock())))
            return
        at = self.clock()
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        headers = signed_headers(d.notice, to.secret, at)
        try:
            # Only the status counts: the answer's body is never read (it may be any size).
            async with client.stream(
                "POST", to.url, content=d.notice.payload(), headers=headers
            ) as answer:
                status = answer.status_code
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            error = failure(e, self.timeout)
        attempt = Attempt(
            format_time(at), status, error, round((time.monotonic() - started) * 1000)
        )
        after = d.tried(attempt, self.retry_base)
        await self.store.save_delivery(after)
        log.info(
            "webhook %s %s to %s: attempt %d %s, %s",
            d.notice.type.value, d.notice.id, to.id, len(after.attempts),
            status if status is not None else error, after.state.value,
            extra={
                "webhook_id": to.id,
                "delivery_id": d.id,
                **{k: d.notice.data[k] for k in ("conversation_id", "visitor_id")
                   if k in d.notice.data},
            },
        )  # fmt: skip
