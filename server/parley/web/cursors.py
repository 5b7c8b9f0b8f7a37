"""Cursors of the HTTP API's listings: opaque to clients, verified when they come back.

A listing pages by a position in the store (a conversation's number, an audit
entry's seq). The API never hands that position out bare: a cursor is
``POSITION.TAG``, where TAG is HMAC-SHA256, cut to 128 bits, over the listing
(its path and filters) and the position, under a key derived from the server's
signing key with HKDF-SHA256. So a cursor is accepted only by the listing, with
the same filters, that returned it; anything else is refused with 400
``bad_request``, never read as a position. Every process that shares the
signing key accepts every other's cursors, also after a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from parley.errors import BadRequest

#: A store position (at most 19 digits: SQLite's and Redis's integers), a dot, a 128-bit tag.
CURSOR = re.compile(r"([0-9]{1,19})\.([A-Za-z0-9_-]{22})")


class Cursors:
    """Seals store positions into cursors bound to one listing, and opens them again."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    @classmethod
    def from_signing_key(cls, key: Ed25519PrivateKey) -> Cursors:
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"parley/cursor/1")
        return cls(hkdf.derive(raw))

    def _tag(self, listing: str, position: str) -> str:
        mac = hmac.new(self._secret, f"{listing}\n{position}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:16]).rstrip(b"=").decode()

    def seal(self, listing: str, position: str) -> str:
        """The cursor that hands ``position`` of ``listing`` to a client."""
        return f"{position}.{self._tag(listing, position)}"

    def open(self, listing: str, cursor: str) -> str:
        """The position inside a cursor ``listing`` returned; BadRequest for any other."""
        found = CURSOR.fullmatch(cursor)
        if found is not None and hmac.compare_digest(found[2], self._tag(listing, found[1])):
            return found[1]
        shown = cursor if len(cursor) <= 64 else cursor[:64] + "…"
        raise BadRequest(f"cursor {shown!r} is not one this listing returned")
