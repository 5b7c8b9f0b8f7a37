"""Listing cursors: a client gets back exactly the position it was handed, for that listing."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley.errors import BadRequest
from parley.web.cursors import Cursors

LISTING = '["/api/compliance/acceptances", [["policy_id", "conduct"]]]'


def test_a_sealed_position_opens_for_its_listing_under_the_same_key() -> None:
    key = Ed25519PrivateKey.generate()
    cursor = Cursors.from_signing_key(key).seal(LISTING, "42")
    assert cursor.startswith("42.")
    assert Cursors.from_signing_key(key).open(LISTING, cursor) == "42", "another process"


@pytest.mark.parametrize(
    "change",
    [
        lambda c: c.replace("42.", "43.", 1),  # another position
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),  # another tag
        lambda c: c.split(".")[0],  # the bare position
        lambda c: c + "=",
        lambda c: "",
        lambda c: "٤٢." + c.split(".")[1],  # Arabic-Indic digits
        lambda c: "9" * 20 + "." + c.split(".")[1],
    ],
)
def test_a_cursor_never_issued_is_refused(change: object) -> None:
    """Docs (protocol.md, Pagination): a cursor the listing did not return is a 400."""
    cursors = Cursors.from_signing_key(Ed25519PrivateKey.generate())
    cursor = cursors.seal(LISTING, "42")
    with pytest.raises(BadRequest, match="is not one this listing returned"):
        cursors.open(LISTING, change(cursor))  # type: ignore[operator]


def test_a_cursor_is_bound_to_its_listing_and_its_key() -> None:
    key = Ed25519PrivateKey.generate()
    cursor = Cursors.from_signing_key(key).seal(LISTING, "42")
    with pytest.raises(BadRequest):
        Cursors.from_signing_key(key).open(LISTING.replace("conduct", "other"), cursor)
    with pytest.raises(BadRequest):
        Cursors.from_signing_key(Ed25519PrivateKey.generate()).open(LISTING, cursor)
