"""Content-coding negotiation (RFC 9110 §12.5.3) and If-None-Match lists (§13.1.2), pure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.web.negotiation import acceptable, listed_tags, quality, weights

OURS = ["br", "gzip", "identity"]


@pytest.mark.parametrize(
    ("header", "chosen"),
    [
        ("gzip, deflate, br, zstd", ["br", "gzip", "identity"]),  # Chromium's
        ("gzip, deflate", ["gzip", "identity"]),
        ("gzip;q=0.5", ["gzip", "identity"]),  # identity not listed: the last resort
        ("br;q=0.5, gzip", ["gzip", "br", "identity"]),  # the client's weights come first
        ("gzip;q=0.8, br;q=0.8", ["br", "gzip", "identity"]),  # then the server's preference
        ("identity;q=0.9, gzip;q=0.5", ["identity", "gzip"]),
        ("*", ["br", "gzip", "identity"]),
        ("*;q=0.5, gzip", ["gzip", "br", "identity"]),
        ("br;q=0, *", ["gzip", "identity"]),
        ("br;q=0", ["identity"]),
        ("identity;q=0, gzip", ["gzip"]),
        ("*;q=0, br", ["br"]),
        ("*;q=0, identity", ["identity"]),
        ("*;q=0", []),
        ("identity;q=0", []),
        ("identity;q=0, br;q=0.000", []),
        ("", ["identity"]),  # an empty value: no coding wanted
        (None, ["identity"]),  # no header: the server's choice, identity
        ("compress, x-unknown", ["identity"]),  # unknown codings: identity
        ("BR, GZip", ["br", "gzip", "identity"]),  # codings are case-insensitive
        ("br;Q=0", ["identity"]),
        ("gzip;q=0, gzip", ["identity"]),  # listed twice: the refusal stands
    ],
)
def test_the_best_acceptable_coding_comes_first(header: str | None, chosen: list[str]) -> None:
    assert acceptable(header, OURS) == chosen


@pytest.mark.parametrize(
    "member",
    ["br;q=2", "br;q=1.5", "br;q=-1", "br;q=abc", "br;q=0.0001", "br;q=", "br;q=1.001",
     "b r", '"br"', "br;q=1e0", "br;q=nan", "br;q=inf", "br;q=0x1", "br;q=\u0661"],
)  # fmt: skip
def test_a_malformed_member_is_ignored(member: str) -> None:
    """A member that is not `coding [;q=qvalue]` states nothing: br is not accepted through it,
    and the rest of the header still counts."""
    assert weights(member) == {}
    assert acceptable(f"{member}, gzip", OURS) == ["gzip", "identity"]


def test_other_parameters_are_disregarded_and_blanks_allowed() -> None:
    assert weights(" , br ; level=3 ; q=0.7 ,, gzip;q=0.30 ,") == {"br": 0.7, "gzip": 0.3}
    assert quality("gzip;q=1.000", "gzip") == 1.0


@given(st.text(max_size=200))
def test_any_header_value_is_read_without_error(header: str) -> None:
    """Hostile Accept-Encoding values never raise; what is chosen is always one we have."""
    assert set(acceptable(header, OURS)) <= set(OURS)
    listed_tags(header)


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        (None, set()),
        ("", set()),
        ('"a"', {'"a"'}),
        ('W/"a", "b"', {'"a"', '"b"'}),
        (' "a" ,W/"b",', {'"a"', '"b"'}),
        ('"a", *', None),
        ("*", None),
        ('a, "b', set()),  # unquoted or unterminated: not a tag
        ('"a" "b"', set()),
    ],
)
def test_if_none_match_lists_tags_or_any(header: str | None, tags: set[str] | None) -> None:
    assert listed_tags(header) == tags
