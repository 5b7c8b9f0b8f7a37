"""Bars: a visitor (and optionally an address or network) kept out of the chat for a while.

A bar is placed in the same action as a closure for violation, cites its
clause, expires on its own (or never), and can be lifted by an admin. It
matches by visitor id, or by address, so clearing the widget's storage does
not get round an address bar.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from parley.domain.transcript import format_time
from parley.errors import InvalidFrame


@dataclass(frozen=True)
class Ban:
    id: str
    visitor_id: str
    #: An address (as a /32 or /128) or a network in CIDR form; None bars the visitor id only.
    network: str | None
    conversation_id: str
    clause: Mapping[str, str]
    created_at: str
    created_by: str
    #: When it ends by itself; None is permanent.
    until: str | None
    lifted_at: str | None = None
    lifted_by: str | None = None
    lift_reason: str | None = None
    #: Once its personal fields are erased (:func:`erase`): ``{"at", "by", "basis"}``.
    erased: Mapping[str, str] | None = None
    #: When the visitor accepted a translation, the governing text's clause (``clause`` is
    #: the clause in the visitor's language, as their closure quoted it).
    governing_clause: Mapping[str, str] | None = None

    @property
    def ended_at(self) -> str | None:
        """When it stopped being in force (lifted, or ran out), or will; None: permanent."""
        if self.lifted_at is not None and (self.until is None or self.lifted_at < self.until):
            return self.lifted_at
        return self.until

    def active(self, now: datetime) -> bool:
        return self.lifted_at is None and (self.until is None or format_time(now) < self.until)

    def applies(self, visitor_id: str | None, ip: str | None, now: datetime) -> bool:
        """Whether this bar keeps out a connection of ``visitor_id`` from ``ip`` at ``now``."""
        if not self.active(now):
            return False
        if visitor_id is not None and visitor_id == self.visitor_id:
            return True
        if self.network is None or ip is None:
            return False
        try:
            return ipaddress.ip_address(ip) in ipaddress.ip_network(self.network)
        except ValueError:
            return False

    def lifted(self, by: str, reason: str, at: datetime) -> Ban:
        return replace(self, lifted_at=format_time(at), lifted_by=by, lift_reason=reason)

    def to_dict(self) -> dict[str, Any]:
        """The stored record; ``erased`` only once erased and ``governing_clause`` only for a
        translation, so a bar stored before either existed has the same record as it had then
        (:meth:`Store.rewrite_bar` compares)."""
        d = {**asdict(self), "clause": dict(self.clause)}
        for key in ("erased", "governing_clause"):
            if d[key] is None:
                del d[key]
            else:
                d[key] = dict(d[key])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Ban:
        return cls(**d)


#: A bar's personal fields: the visitor's address (or the network barred with it) and what
#: staff wrote when lifting it. Its visitor id, clause, times and staff ids stay.
PERSONAL = ("network", "lift_reason")


def erase(ban: Ban, *, at: datetime, by: str, basis: str) -> Ban:
    """``ban`` with its personal fields erased by ``by`` at ``at`` under ``basis``.

    Raises ValueError (a caller's mistake) for a bar still in force at ``at``: its address
    is what keeps the visitor out.
    """
    if ban.active(at):
        raise ValueError(f"bar {ban.id} is in force; only an ended bar is erased")
    return replace(
        ban,
        network=None,
        lift_reason=None,
        erased={"at": format_time(at), "by": by, "basis": basis},
    )


def erased(ban: Ban, now: datetime) -> Ban:
    """``ban`` with what is personal in it erased: the reason it was lifted for and, once it
    keeps no one out (lifted or expired), its address or network. A bar in force keeps its
    visitor id and address: it is a safety measure, and erasing them would lift it."""
    return replace(ban, lift_reason=None, network=ban.network if ban.active(now) else None)


def longest(bars: Iterable[Ban]) -> Ban | None:
    """The bar that ends last (a permanent one before any other); ``None`` if there is none."""
    return max(bars, key=lambda b: b.until or "9999", default=None)


def place(
    request: Mapping[str, Any],
    *,
    ban_id: str,
    visitor_id: str,
    visitor_ip: str | None,
    conversation_id: str,
    clause: Mapping[str, str],
    by: str,
    at: datetime,
    governing_clause: Mapping[str, str] | None = None,
) -> Ban:
    """The bar an agent asked for: ``{"hours": int | None, "ip": bool, "network": str | None}``.

    ``clause`` is quoted as the visitor read it; ``governing_clause`` is the governing text's
    when they read a translation. ``hours`` None is permanent; ``ip`` bars the address the
    visitor accepted from; ``network`` bars a CIDR block. Raises InvalidFrame for a network
    that is not one.
    """
    network = None
    if request.get("network"):
        try:
            network = str(ipaddress.ip_network(request["network"], strict=False))
        except ValueError:
            raise InvalidFrame(
                f"close: $.bar.network: {request['network']!r} is not a network"
            ) from None
    elif request.get("ip") and visitor_ip:
        network = str(ipaddress.ip_network(visitor_ip))
    hours = request.get("hours")
    return Ban(
        id=ban_id,
        visitor_id=visitor_id,
        network=network,
        conversation_id=conversation_id,
        clause=dict(clause),
        created_at=format_time(at),
        created_by=by,
        until=format_time(at + timedelta(hours=hours)) if hours is not None else None,
        governing_clause=dict(governing_clause) if governing_clause is not None else None,
    )
