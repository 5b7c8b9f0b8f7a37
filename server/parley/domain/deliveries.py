"""Deliveries: one webhook notice on its way to one endpoint, signed, and retried.

Pure: times are passed in. A :class:`Delivery` is made for each endpoint that
wants a notice (:func:`fan_out`), tried until an attempt gets a 2xx, waiting
:func:`retry_delay` between attempts, and ``failed`` once :data:`MAX_ATTEMPTS`
have not. Every attempt is signed anew (:func:`signed_headers`) with the same
``webhook-id`` and body.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from standardwebhooks import Webhook

from parley.domain.transcript import format_time, parse_time
from parley.domain.webhooks import Endpoint, Notice

#: Attempts a delivery gets in all before it is ``failed``.
MAX_ATTEMPTS = 8
#: The longest wait between two attempts, whatever the base.
MAX_DELAY = timedelta(hours=6)


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


def signed_headers(notice: Notice, secret: str, at: datetime) -> dict[str, str]:
    """The headers of one attempt sent at ``at``: id, timestamp, and the v1 signature of
    ``id.timestamp.body`` (HMAC-SHA256 with the secret), as Standard Webhooks defines them."""
    signature = Webhook(secret).sign(notice.id, at, notice.payload().decode())
    return {
        "webhook-id": notice.id,
        "webhook-timestamp": str(math.floor(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def retry_delay(attempts: int, base: float) -> timedelta | None:
    """How long to wait after ``attempts`` failed attempts before the next one:
    ``base * 2**(attempts - 1)`` seconds, at most :data:`MAX_DELAY`; ``None`` once
    :data:`MAX_ATTEMPTS` have failed."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return min(timedelta(seconds=base * 2 ** (attempts - 1)), MAX_DELAY)


@dataclass(frozen=True)
class Attempt:
    """One try: when, the HTTP status (``None`` if no answer came) or what went wrong, and
    how long it took."""

    at: str
    status: int | None
    error: str | None
    duration_ms: int

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "status": self.status, "error": self.error,
                "duration_ms": self.duration_ms}  # fmt: skip


@dataclass(frozen=True)
class Delivery:
    """One notice on its way to one endpoint; ``next_at`` is when the next attempt is due."""

    id: str
    endpoint_id: str
    notice: Notice
    created_at: str
    state: DeliveryState = DeliveryState.PENDING
    attempts: tuple[Attempt, ...] = ()
    next_at: str | None = None

    def tried(self, attempt: Attempt, base: float) -> Delivery:
        """This delivery after ``attempt``: delivered on a 2xx; else retried after
        :func:`retry_delay`, or failed once the attempts are used up."""
        attempts = (*self.attempts, attempt)
        if attempt.succeeded:
            return replace(self, state=DeliveryState.DELIVERED, attempts=attempts, next_at=None)
        delay = retry_delay(len(attempts), base)
        if delay is None:
            return replace(self, state=DeliveryState.FAILED, attempts=attempts, next_at=None)
        next_at = format_time(parse_time(attempt.at) + delay)
        return replace(self, attempts=attempts, next_at=next_at)

    def dropped(self, at: str) -> Delivery:
        """This delivery given up without sending: its endpoint was deleted."""
        attempt = Attempt(at, None, "not sent: the endpoint was deleted", 0)
        attempts = (*self.attempts, attempt)
        return replace(self, state=DeliveryState.FAILED, attempts=attempts, next_at=None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "endpoint_id": self.endpoint_id, "notice": self.notice.to_dict(),
            "created_at": self.created_at, "state": self.state.value,
            "attempts": [a.to_dict() for a in self.attempts], "next_at": self.next_at,
        }  # fmt: skip

    def view(self) -> dict[str, Any]:
        """The delivery log's entry: the event's id and type, state, attempts, next attempt."""
        return {
            "id": self.id, "event_id": self.notice.id, "type": self.notice.type.value,
            "created_at": self.created_at, "state": self.state.value,
            "attempts": [a.to_dict() for a in self.attempts], "next_attempt_at": self.next_at,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Delivery:
        return cls(
            d["id"], d["endpoint_id"], Notice.from_dict(d["notice"]), d["created_at"],
            DeliveryState(d["state"]), tuple(Attempt(**a) for a in d["attempts"]), d["next_at"],
        )  # fmt: skip


def fan_out(
    notices: Iterable[Notice], endpoints: Iterable[Endpoint], at: datetime
) -> list[Delivery]:
    """A delivery of each notice to each endpoint that wants it now, due at ``at``; its id
    derived from both, so fanning out twice makes the same deliveries."""
    now = format_time(at)
    chosen = list(endpoints)
    return [
        Delivery(delivery_id(n, e), e.id, n, now, next_at=now)
        for n in notices
        for e in chosen
        if e.wants(n)
    ]


def delivery_id(notice: Notice, endpoint: Endpoint) -> str:
    return "dlv_" + hashlib.sha256(f"{notice.id} {endpoint.id}".encode()).hexdigest()[:32]
