"""The widget build on record: reading a build, and weighing a widget's reports against it."""

from __future__ import annotations

import base64
import hashlib
import tomllib

import pytest

import parley
from harness import REPO
from parley.domain.widget import (
    WidgetOnRecord,
    on_record,
    pinned_digest,
    read_build,
    snippet,
)

BODY = b'(() => {\n  const BUILD = "parley-widget/9.9.9";\n})();\n'
SERVED = read_build(BODY)
OTHER = hashlib.sha256(b"an older build").hexdigest()
PINNED = f"https://chat.example.com/widget/{SERVED.sha256}.js"
OLD_PINNED = f"https://chat.example.com/widget/{OTHER}.js"
UNPINNED = "https://chat.example.com/widget.js"


def sri(algorithm: str, body: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, body).digest()).decode()}"


def test_a_build_is_its_exact_bytes_with_their_digests_and_build_string() -> None:
    assert SERVED.build == "parley-widget/9.9.9"
    assert SERVED.body == BODY
    assert SERVED.sha256 == hashlib.sha256(BODY).hexdigest()
    assert SERVED.sri == sri("sha384", BODY)
    assert SERVED.path == f"/widget/{SERVED.sha256}.js"


@pytest.mark.parametrize(
    "body",
    [
        b"(() => {})();",
        b'const BUILD = "other-widget/1";',
        b"const BUILD = 'parley-widget/1';",
        b'// const BUILD = "parley-widget/1";',
        b'\xff const BUILD = "parley-widget/1";',
    ],
)
def test_a_widget_without_its_build_constant_is_refused(body: bytes) -> None:
    """Start-up: a widget.js that declares no BUILD (or is not UTF-8) is not served."""
    with pytest.raises(ValueError, match=r"BUILD|UTF-8"):
        read_build(body)


def test_the_shipped_widget_build_is_the_package_version() -> None:
    """Build on record: widget.js's BUILD changes with each release of Parley."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == parley.__version__
    shipped = read_build((REPO / "widget" / "widget.js").read_bytes())
    assert shipped.build == f"parley-widget/{parley.__version__}"


@pytest.mark.parametrize(
    ("url", "digest"),
    [
        (PINNED, SERVED.sha256),
        (f"/widget/{OTHER}.js", OTHER),
        (f"{OLD_PINNED}?v=1#x", OTHER),
        (UNPINNED, None),
        (f"https://chat.example.com/widget/{OTHER.upper()}.js", None),
        (f"https://chat.example.com/widget/{OTHER}.js/more", None),
        (f"https://chat.example.com/xwidget/{OTHER}.jsx", None),
        ("http://[::1/widget.js", None),  # not a URL
        (None, None),
    ],
)
def test_a_pinned_url_names_its_digest(url: str | None, digest: str | None) -> None:
    assert pinned_digest(url) == digest


def record(
    build: str | None = "parley-widget/9.9.9",
    url: str | None = UNPINNED,
    integrity: str | None = None,
) -> tuple[str | None, str | None, bool | None]:
    r = on_record(SERVED, build, url, integrity)
    assert r.widget_served_sha256 == SERVED.sha256
    return r.widget_sha256, r.widget_served_sha256, r.widget_stale


def test_loaded_from_the_served_builds_own_url_is_the_served_build() -> None:
    assert record(url=PINNED) == (SERVED.sha256, SERVED.sha256, False)
    assert record(build=None, url=PINNED) == (SERVED.sha256, SERVED.sha256, False)


@pytest.mark.parametrize(
    "integrity",
    [
        sri("sha256", BODY),
        sri("sha384", BODY),
        sri("sha512", BODY),
        f"{sri('sha384', BODY)} {sri('sha256', b'other')}",  # only the strongest is checked
        f"{sri('sha512', b'other')} {sri('sha512', BODY)}",  # any value of the strongest
        f"{sri('sha384', BODY)}?ct=text/javascript md5-abc",  # options; unknown algorithms
        sri("sha384", BODY).replace("+", "-").replace("/", "_").rstrip("="),  # base64url
    ],
)
def test_an_integrity_matching_the_served_build_proves_it(integrity: str) -> None:
    assert record(url=UNPINNED, integrity=integrity) == (SERVED.sha256, SERVED.sha256, False)


def test_an_older_pinned_url_is_that_build_and_stale() -> None:
    """A browser kept an older build it cached for good: recorded with the URL's digest."""
    assert record(url=OLD_PINNED) == (OTHER, SERVED.sha256, True)
    assert record(build=None, url=OLD_PINNED, integrity=SERVED.sri) == (
        OTHER,
        SERVED.sha256,
        True,
    )


def test_an_older_build_string_is_stale_with_no_digest() -> None:
    assert record(build="parley-widget/0.0.1") == (None, SERVED.sha256, True)
    # The widget's own report contradicts its URL: not the served build.
    assert record(build="parley-widget/0.0.1", url=PINNED) == (None, SERVED.sha256, True)


def test_an_integrity_naming_another_build_is_stale() -> None:
    """The browser ran the script only because it matched: it was not the served build."""
    assert record(integrity=sri("sha384", b"older")) == (None, SERVED.sha256, True)
    older = sri("sha256", b"older")
    assert record(integrity=older) == (hashlib.sha256(b"older").hexdigest(), SERVED.sha256, True)
    assert record(integrity=f"{older} {sri('sha256', b'other')}") == (None, SERVED.sha256, True)
    assert record(integrity="sha256-notadigest") == (None, SERVED.sha256, True)


@pytest.mark.parametrize("integrity", [None, "", "   ", "md5-abc", "sha1-abc", "sha384"])
def test_unpinned_without_checked_integrity_is_unknown(integrity: str | None) -> None:
    """/widget.js with no integrity a browser checks: the bytes that ran are not known."""
    assert record(integrity=integrity) == (None, SERVED.sha256, None)
    assert record(build=None, url=None, integrity=integrity) == (None, SERVED.sha256, None)


def test_a_process_serving_no_widget_records_nothing_known() -> None:
    assert on_record(None, "parley-widget/9.9.9", PINNED, SERVED.sri) == WidgetOnRecord(
        None, None, None
    )


def test_the_snippet_pins_the_build_with_its_integrity() -> None:
    pinned = snippet(SERVED, "https://chat.example.com/", pinned=True)
    assert pinned == (
        f"<!-- Parley widget parley-widget/9.9.9, SHA-256 {SERVED.sha256} -->\n"
        f'<script src="https://chat.example.com/widget/{SERVED.sha256}.js" '
        f'integrity="{SERVED.sri}" crossorigin="anonymous" async></script>'
    )
    unpinned = snippet(SERVED, 'https://x.example/"><b>', pinned=False)
    assert unpinned.splitlines()[1] == (
        '<script src="https://x.example/&quot;&gt;&lt;b&gt;/widget.js" async></script>'
    )
