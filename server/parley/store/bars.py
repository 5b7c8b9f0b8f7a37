"""Finding the bars that keep a connection out, without reading every bar ever placed.

Both backends index a bar by its visitor id and, when it bars one address (an
IP bar is stored as a /32 or /128 network), by that exact address. A bar on a
wider network cannot be found from an address by key, so each process keeps
the list of those in memory (:class:`NetworkCache`), re-read only after a bar
was placed or lifted.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from parley.domain.bans import Ban

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def address_of(ip: str | None) -> Address | None:
    """The address a connection comes from; ``None`` when unknown or not an address."""
    if ip is None:
        return None
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


def single_address(network: str | None) -> str | None:
    """The address a bar on exactly one address names (its lookup key); else ``None``."""
    if network is None:
        return None
    net = ipaddress.ip_network(network)
    return str(net.network_address) if net.num_addresses == 1 else None


def wide_network(network: str | None) -> str | None:
    """The network a bar covers when it is wider than one address; else ``None``."""
    return network if network is not None and single_address(network) is None else None


def applying(
    found: Iterable[Ban], visitor_id: str | None, ip: str | None, now: datetime
) -> list[Ban]:
    """The bars among ``found`` (which may repeat) that keep this connection out at ``now``."""
    unique = {b.id: b for b in found}.values()
    in_force = [b for b in unique if b.applies(visitor_id, ip, now)]
    return sorted(in_force, key=lambda b: (b.created_at, b.id))


@dataclass(frozen=True)
class NetworkBars:
    """The bars on wide networks as read when the bar change counter stood at ``changes``."""

    changes: int | None
    bars: tuple[tuple[Ban, Network], ...]

    def covering(self, address: Address | None) -> list[Ban]:
        if address is None:
            return []
        return [ban for ban, network in self.bars if address in network]


class NetworkCache:
    """This process's copy of the bars on networks wider than one address.

    Every backend keeps a bar change counter, moved in the transaction that
    places or lifts any bar. Each lookup reads the counter together with its
    exact look-ups (one round trip, one read transaction), and reads the list
    again only when the counter is not the one the copy was read at. So a bar
    placed or lifted by any process applies from the first lookup that starts
    after its commit: the copy is never staler than that.
    """

    def __init__(self) -> None:
        self._copy = NetworkBars(None, ())
        #: How often the list was read from the store (once per change, not per lookup).
        self.loads = 0

    def fresh(self, changes: int) -> NetworkBars | None:
        """The copy, if it was read at ``changes``."""
        return self._copy if self._copy.changes == changes else None

    def load(self, changes: int, bars: Iterable[Ban], now: datetime) -> NetworkBars:
        """Keep ``bars`` (read at ``changes``; expired ones are dropped for good) as the copy."""
        kept = tuple(
            (b, ipaddress.ip_network(b.network))
            for b in bars
            if b.network is not None and b.active(now)
        )
        self._copy = NetworkBars(changes, kept)
        self.loads += 1
        return self._copy
