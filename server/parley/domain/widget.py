"""The widget build on record: which ``widget.js`` this server serves, and which one a visitor ran.

The server reads ``widget.js`` once at start-up (:func:`read_build`) and serves exactly those
bytes, at ``/widget.js`` and at its content address ``/widget/<sha256 hex>.js`` (compressed or
not: the digests here are of the decoded script, which Subresource Integrity checks). When a visitor
accepts, :func:`on_record` weighs what their widget reported — its ``BUILD`` string, the URL it
was loaded from and its ``integrity`` attribute — against the served build. Pure: bytes and
strings in, values out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

#: ``const BUILD = "parley-widget/X";`` — the build string the widget reports about itself.
BUILD_LINE = re.compile(r'^\s*const BUILD = "(parley-widget/[^"\s]+)";\s*$', re.MULTILINE)
#: The content-addressed path of a build.
PINNED_PATH = re.compile(r"/widget/([0-9a-f]{64})\.js\Z")
#: Subresource Integrity algorithms, weakest first (a browser checks only the strongest given).
SRI_ALGORITHMS = ("sha256", "sha384", "sha512")
#: One SRI metadata token: ``alg-value`` with optional ``?options`` (base64 or base64url).
SRI_TOKEN = re.compile(r"(sha256|sha384|sha512)-([A-Za-z0-9+/_-]+={0,2})(?:\?\S*)?")


@dataclass(frozen=True)
class WidgetBuild:
    """One ``widget.js``: its exact bytes, its ``BUILD`` string and its digests."""

    build: str
    body: bytes = field(repr=False)
    #: Raw digests of ``body`` by SRI algorithm name.
    digests: dict[str, bytes] = field(repr=False)

    @property
    def sha256(self) -> str:
        return self.digests["sha256"].hex()

    @property
    def sri(self) -> str:
        """The ``integrity`` value of the embed snippet."""
        return "sha384-" + base64.b64encode(self.digests["sha384"]).decode()

    @property
    def path(self) -> str:
        """Where this build is served for ever-caching: ``/widget/<sha256 hex>.js``."""
        return f"/widget/{self.sha256}.js"


def read_build(body: bytes) -> WidgetBuild:
    """The build of ``body``; raise ValueError if it is not UTF-8 or declares no ``BUILD``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    found = BUILD_LINE.search(text)
    if found is None:
        raise ValueError('declares no build: it must hold a line const BUILD = "parley-widget/X";')
    digests = {name: hashlib.new(name, body).digest() for name in SRI_ALGORITHMS}
    return WidgetBuild(found.group(1), body, digests)


@dataclass(frozen=True)
class WidgetOnRecord:
    """What the acceptance records of the build the visitor's widget was loaded from."""

    #: The SHA-256 (hex) of the build the widget was loaded from, when it can be known.
    widget_sha256: str | None
    #: The SHA-256 (hex) of the build this server serves.
    widget_served_sha256: str | None
    #: True: provably not the served build; False: provably it; None: not known.
    widget_stale: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "widget_sha256": self.widget_sha256,
            "widget_served_sha256": self.widget_served_sha256,
            "widget_stale": self.widget_stale,
        }


def pinned_digest(script_url: str | None) -> str | None:
    """The SHA-256 a ``/widget/<sha256 hex>.js`` URL names; None for any other URL."""
    if script_url is None:
        return None
    try:
        path = urlsplit(script_url).path
    except ValueError:
        return None
    found = PINNED_PATH.search(path)
    return found.group(1) if found else None


def checked_digests(integrity: str | None) -> tuple[str, list[bytes | None]] | None:
    """What a browser checks of an ``integrity`` attribute: its strongest algorithm, and the
    values given for it (None for one that is not a digest). None: nothing is checked."""
    tokens = [SRI_TOKEN.fullmatch(t) for t in (integrity or "").split()]
    given = [(t.group(1), t.group(2)) for t in tokens if t is not None]
    if not given:
        return None
    strongest = max((alg for alg, _ in given), key=SRI_ALGORITHMS.index)
    return strongest, [_decoded(value) for alg, value in given if alg == strongest]


def _decoded(value: str) -> bytes | None:
    text = value.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error:
        return None


def on_record(
    served: WidgetBuild | None,
    reported_build: str | None,
    script_url: str | None,
    integrity: str | None,
) -> WidgetOnRecord:
    """Weigh what a widget reported against the ``served`` build.

    * Loaded from ``/widget/<sha>.js`` naming another build: that build, stale.
    * An ``integrity`` attribute none of whose strongest values is the served build's: a
      browser ran it only because the script matched, so not the served build: stale (its
      digest is known when it is a single SHA-256).
    * A reported ``BUILD`` other than the served file's: stale, digest unknown.
    * Otherwise, loaded from the served build's own URL or under an ``integrity`` it matches:
      the served build, not stale.
    * Otherwise (e.g. ``/widget.js`` with no integrity): digest and staleness unknown.

    ``served`` None (a process that serves no widget) records nothing known. These are the
    client's reports: a client that is not a browser running the widget may say anything.
    """
    if served is None:
        return WidgetOnRecord(None, None, None)
    named = pinned_digest(script_url)
    if named is not None and named != served.sha256:
        return WidgetOnRecord(named, served.sha256, True)
    checked = checked_digests(integrity)
    if checked is not None:
        algorithm, values = checked
        if served.digests[algorithm] not in values:
            single = values[0] if algorithm == "sha256" and len(values) == 1 else None
            known = single.hex() if single is not None and len(single) == 32 else None
            return WidgetOnRecord(known, served.sha256, True)
    if reported_build is not None and reported_build != served.build:
        return WidgetOnRecord(None, served.sha256, True)
    if named is not None or checked is not None:
        return WidgetOnRecord(served.sha256, served.sha256, False)
    return WidgetOnRecord(None, served.sha256, None)


def snippet(widget: WidgetBuild, base_url: str, *, pinned: bool) -> str:
    """The embed tag for ``widget`` served at ``base_url``, after a comment naming the build.

    Pinned: the content-addressed URL with ``integrity``, so the browser runs exactly this
    build or nothing. Unpinned: ``/widget.js``, which follows the server's upgrades.
    """
    base = html.escape(base_url.rstrip("/"), quote=True)
    comment = f"<!-- Parley widget {widget.build}, SHA-256 {widget.sha256} -->"
    if not pinned:
        return f'{comment}\n<script src="{base}/widget.js" async></script>'
    return (
        f'{comment}\n<script src="{base}{widget.path}" integrity="{widget.sri}" '
        'crossorigin="anonymous" async></script>'
    )
