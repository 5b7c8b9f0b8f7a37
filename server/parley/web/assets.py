"""Static files served from memory, compressed once at start-up, negotiated per request.

Each :class:`Asset` holds its representations: the file as read (``identity``) and, for
text, its brotli (``br``) and ``gzip`` encodings when they are smaller. A response carries
the representation the request accepts best (:mod:`parley.web.negotiation`) with:

* ``ETag``: the quoted SHA-256 (hex) of that representation's bytes, so every encoding has
  its own strong tag (RFC 9110 §8.8.3.3), equal across processes that serve the same bytes;
* ``Repr-Digest``: the same SHA-256 (RFC 9530 §3: the digest of the selected representation,
  its content coding applied);
* ``Content-Encoding`` unless ``identity``, and ``Vary: Accept-Encoding`` wherever the file
  has more than one representation, 304 included.

``If-None-Match`` listing the tag of any representation the request accepts is answered 304
with that tag: the client already holds an acceptable representation, so the server selects
that one (a cache holding several updates the one named, RFC 9111 §4.3.4). A request that
accepts none (``identity;q=0`` and nothing we have) is 406 ``not_acceptable``. Ranges are not
served: the files are small, and a ``Range`` header is ignored (RFC 9110 §14.2 allows it).

Not Starlette's ``GZipMiddleware``: it compresses on every request, gzip only, takes
``gzip`` anywhere in ``Accept-Encoding`` as a yes (``gzip;q=0`` too), and leaves the
identity ``ETag`` on the compressed bytes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import brotli
from starlette.requests import Request
from starlette.responses import Response

from parley.errors import NotAcceptable
from parley.web.negotiation import IDENTITY, acceptable, listed_tags

#: Media types by file suffix; what is not listed is served as ``application/octet-stream``.
MEDIA_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
}
COMPRESSIBLE = {"application/json", "image/svg+xml"}
#: Brotli's 11 makes the files 1.5 % smaller than 10 for three times the start-up time
#: (bench/wire_bytes.py); every server start pays it, the test suite's hundreds included.
BROTLI_QUALITY = 10
GZIP_LEVEL = 9


@dataclass(frozen=True)
class Representation:
    """One encoding of a file: its bytes, and the validators of exactly those bytes."""

    coding: str
    body: bytes = field(repr=False)
    etag: str
    repr_digest: str


@dataclass(frozen=True)
class Asset:
    """A file's media type and representations, in the server's preference order."""

    media_type: str
    representations: tuple[Representation, ...]

    @property
    def varies(self) -> bool:
        return len(self.representations) > 1


def representation(coding: str, body: bytes) -> Representation:
    digest = hashlib.sha256(body).digest()
    return Representation(
        coding, body, f'"{digest.hex()}"', "sha-256=:" + base64.b64encode(digest).decode() + ":"
    )


def encoded(body: bytes, media_type: str) -> Asset:
    """``body`` as an asset; text also in ``br`` and ``gzip`` where that makes it smaller.

    gzip is written with no file name and time 0, so every process makes the same bytes."""
    representations = []
    if media_type.startswith("text/") or media_type in COMPRESSIBLE:
        compressed = {
            "br": brotli.compress(body, quality=BROTLI_QUALITY),
            "gzip": gzip.compress(body, GZIP_LEVEL, mtime=0),
        }
        representations = [
            representation(c, b) for c, b in compressed.items() if len(b) < len(body)
        ]
    return Asset(media_type, (*representations, representation(IDENTITY, body)))


def read_file(path: Path) -> Asset:
    """The asset of one file, read now; raise ValueError naming it if it cannot be read."""
    try:
        body = path.read_bytes()
    except OSError as e:
        raise ValueError(f"{path}: cannot read this page file: {e.strerror}") from None
    return encoded(body, MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream"))


def read_folder(folder: Path) -> dict[str, Asset]:
    """Every file under ``folder`` by its relative POSIX path, read now; raise ValueError
    naming the folder if it cannot be listed or holds no ``index.html``."""
    if not (folder / "index.html").is_file():
        raise ValueError(f"{folder}: cannot read the console: it holds no index.html")
    try:
        files = sorted(p for p in folder.rglob("*") if p.is_file())
    except OSError as e:
        raise ValueError(f"{folder}: cannot read the console: {e.strerror}") from None
    return {p.relative_to(folder).as_posix(): read_file(p) for p in files}


def respond(
    request: Request, asset: Asset, cache_control: str, headers: Mapping[str, str]
) -> Response:
    """The representation of ``asset`` the request accepts best, or 304 if it holds one.

    Raise :class:`NotAcceptable` if the request refuses every representation."""
    by_coding = {r.coding: r for r in asset.representations}
    wanted = acceptable(
        _field(request, "accept-encoding"), [r.coding for r in asset.representations]
    )
    if not wanted:
        raise NotAcceptable(
            "this file is served only as " + ", ".join(by_coding) + "; the request's "
            "Accept-Encoding refuses them all"
        )
    tags = listed_tags(_field(request, "if-none-match"))
    held = [by_coding[c] for c in wanted if tags is None or by_coding[c].etag in tags]
    chosen = held[0] if held else by_coding[wanted[0]]
    common = {**headers, "ETag": chosen.etag, "Cache-Control": cache_control}
    if asset.varies:
        common["Vary"] = "Accept-Encoding"
    if held:
        return Response(status_code=304, headers=common)
    common["Repr-Digest"] = chosen.repr_digest
    if chosen.coding != IDENTITY:
        common["Content-Encoding"] = chosen.coding
    return Response(chosen.body, media_type=asset.media_type, headers=common)


def _field(request: Request, name: str) -> str | None:
    """A request header's value, its repeated lines joined as one list (RFC 9110 §5.3)."""
    lines = request.headers.getlist(name)
    return ", ".join(lines) if lines else None
