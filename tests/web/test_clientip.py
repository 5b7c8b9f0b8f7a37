"""The visitor's IP for the acceptance record: X-Forwarded-For is believed only from proxies."""

from __future__ import annotations

import pytest

from parley.config import parse_networks
from parley.web.clientip import client_ip

PROXIES = parse_networks("127.0.0.1, 10.0.0.0/8, fd00::/8")


@pytest.mark.parametrize("header", [None, "", "198.51.100.9", "198.51.100.9, 10.0.0.5"])
def test_an_untrusted_peer_is_the_client_whatever_it_sends(header: str | None) -> None:
    """Invariant 2: a peer that is not a trusted proxy cannot choose the recorded IP."""
    assert client_ip("203.0.113.7", header, PROXIES) == "203.0.113.7"


def test_no_proxies_configured_means_the_peer() -> None:
    """Invariant 2: with no trusted proxies, X-Forwarded-For is never believed."""
    assert client_ip("127.0.0.1", "198.51.100.9", ()) == "127.0.0.1"


def test_no_peer_is_no_ip() -> None:
    """Invariant 2: an unknown peer is recorded as unknown, not as a header's claim."""
    assert client_ip(None, "198.51.100.9", PROXIES) is None


def test_a_trusted_peer_forwards_the_client() -> None:
    """Invariant 2: behind a trusted proxy, the forwarded address is the client."""
    assert client_ip("127.0.0.1", "198.51.100.9", PROXIES) == "198.51.100.9"


def test_the_rightmost_untrusted_hop_is_the_client() -> None:
    """Invariant 2: addresses left of the first untrusted hop are the client's own claims."""
    header = "1.1.1.1, 192.0.2.1, 198.51.100.9"
    assert client_ip("10.0.0.1", header, PROXIES) == "198.51.100.9"


def test_a_chain_of_trusted_proxies_is_skipped() -> None:
    """Invariant 2: every trusted hop from the right is skipped to reach the client."""
    header = "1.1.1.1, 198.51.100.9, 10.1.2.3, 10.0.0.2"
    assert client_ip("127.0.0.1", header, PROXIES) == "198.51.100.9"
    assert client_ip("127.0.0.1", " 198.51.100.9 ,10.0.0.2 , ", PROXIES) == "198.51.100.9"


@pytest.mark.parametrize(
    "header",
    ["garbage", "198.51.100.9, garbage", "198.51.100.9, 10.0.0.2, not an ip", ",, ,", "999.1.1.1"],
)
def test_a_garbage_header_falls_back_to_the_peer(header: str) -> None:
    """Invariant 2: an unparsable hop where the client should be yields the peer, not the text."""
    assert client_ip("10.0.0.1", header, PROXIES) == "10.0.0.1"


def test_ipv6_peers_and_hops() -> None:
    """Invariant 2: IPv6 proxies and clients are handled, and the address is normalised."""
    assert client_ip("fd00::1", "2001:DB8:0:0::7, fd12::2", PROXIES) == "2001:db8::7"
    assert client_ip("2001:db8::9", "198.51.100.9", PROXIES) == "2001:db8::9"
    assert client_ip("fd00::1", "198.51.100.9", PROXIES) == "198.51.100.9"
    assert client_ip("10.0.0.1", "2001:db8::7", PROXIES) == "2001:db8::7"
