"""The widget, the demo page and the console over a real server: compressed as the request
accepts (brotli, gzip, identity), an ETag and a Repr-Digest per encoding, 304s, HEAD, and
hostile Accept-Encoding values answered without a fault (docs/widget.md, Caching and
compression)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import brotli
import httpx
import pytest

from harness import REPO, Server, parley

WIDGET = REPO / "widget"
BODY = (WIDGET / "widget.js").read_bytes()
SHA256 = hashlib.sha256(BODY).hexdigest()
#: URL path → the file it serves.
FILES = {
    "/widget.js": WIDGET / "widget.js",
    f"/widget/{SHA256}.js": WIDGET / "widget.js",
    "/": WIDGET / "demo.html",
    "/demo.css": WIDGET / "demo.css",
    "/console/": WIDGET / "console" / "index.html",
    **{f"/console/{p.name}": p for p in sorted((WIDGET / "console").iterdir())},
}
DECODE = {"br": brotli.decompress, "gzip": gzip.decompress}
CODINGS = ("br", "gzip", "identity")


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.http) as client:
        yield client


@dataclass(frozen=True)
class Sent:
    """A response as it went over the wire: its body not decoded."""

    status_code: int
    headers: httpx.Headers
    content: bytes


def raw(http: httpx.Client, path: str, accept: str, tags: str | None = None, **more: str) -> Sent:
    """The response to ``Accept-Encoding: accept`` (and ``If-None-Match: tags``), its body
    exactly as sent (not decoded); ``method`` and ``range`` in ``more``."""
    headers = {"Accept-Encoding": accept, **({"If-None-Match": tags} if tags else {})}
    if "range" in more:
        headers["Range"] = more["range"]
    with http.stream(more.get("method", "GET"), path, headers=headers) as r:
        return Sent(r.status_code, r.headers, b"".join(r.iter_raw()))


def decoded(r: Sent) -> bytes:
    coding = r.headers.get("content-encoding")
    return DECODE[coding](r.content) if coding else r.content


def tag_of(body: bytes) -> str:
    return f'"{hashlib.sha256(body).hexdigest()}"'


def digest_of(body: bytes) -> str:
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode() + ":"


@pytest.mark.parametrize("path", list(FILES))
@pytest.mark.parametrize(
    ("accept", "coding"),
    [("gzip, deflate, br, zstd", "br"), ("gzip, deflate", "gzip"), ("identity", None)],
)
def test_each_file_is_sent_in_the_best_accepted_encoding_with_its_own_validators(
    http: httpx.Client, path: str, accept: str, coding: str | None
) -> None:
    """The decoded bytes are the file's; ETag and Repr-Digest are the SHA-256 of the bytes
    sent (RFC 9530 §3: the selected representation, compressed); Vary: Accept-Encoding."""
    r = raw(http, path, accept)
    assert r.status_code == 200
    assert r.headers.get("content-encoding") == coding
    assert decoded(r) == FILES[path].read_bytes()
    assert int(r.headers["content-length"]) == len(r.content)
    assert r.headers["etag"] == tag_of(r.content)
    assert r.headers["repr-digest"] == digest_of(r.content)
    assert r.headers["vary"] == "Accept-Encoding"
    assert r.headers["cache-control"] == (
        "public, max-age=31536000, immutable" if path.startswith("/widget/") else "no-cache"
    )
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
    if coding:
        assert len(r.content) < len(decoded(r))


@pytest.mark.parametrize("path", ["/widget.js", f"/widget/{SHA256}.js", "/", "/console/"])
def test_every_encoding_revalidates_to_a_304_of_its_own(http: httpx.Client, path: str) -> None:
    """If-None-Match with the tag of the encoding held: 304, that tag, Vary, no body, no
    Content-Encoding or Repr-Digest (representation metadata a 304 does not repeat)."""
    for accept in ("br", "gzip", "identity"):
        first = raw(http, path, accept)
        again = raw(http, path, accept, first.headers["etag"])
        assert again.status_code == 304, accept
        assert again.content == b""
        assert again.headers["etag"] == first.headers["etag"]
        assert again.headers["vary"] == "Accept-Encoding"
        assert again.headers["cache-control"] == first.headers["cache-control"]
        assert "content-encoding" not in again.headers
        assert "repr-digest" not in again.headers


def test_a_held_encoding_the_request_accepts_is_revalidated_and_one_it_refuses_is_not(
    http: httpx.Client,
) -> None:
    """Holding gzip, a request that accepts gzip (even preferring br) is told its copy is
    valid, with the gzip tag; holding br, a request that refuses br gets gzip in full."""
    br = raw(http, "/widget.js", "br").headers["etag"]
    gz = raw(http, "/widget.js", "gzip").headers["etag"]
    assert len({br, gz, f'"{SHA256}"'}) == 3, "a distinct strong tag per encoding"
    held = raw(http, "/widget.js", "br, gzip", gz)
    assert held.status_code == 304 and held.headers["etag"] == gz
    both = raw(http, "/widget.js", "br, gzip", f"{gz}, {br}")
    assert both.status_code == 304 and both.headers["etag"] == br, "the preferred one"
    refused = raw(http, "/widget.js", "gzip, br;q=0", br)
    assert refused.status_code == 200
    assert refused.headers["content-encoding"] == "gzip" and decoded(refused) == BODY
    anything = raw(http, "/widget.js", "gzip", "*")
    assert anything.status_code == 304 and anything.headers["etag"] == gz


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("br;q=0, gzip", "gzip"),
        ("gzip;q=0, br;q=0", None),
        ("br;q=0.5, gzip;q=0.9", "gzip"),
        ("identity;q=0, gzip", "gzip"),
        ("*", "br"),
        ("*;q=0, gzip", "gzip"),
        ("compress, x-gzip, zstd", None),
        ("", None),
        ("BR", "br"),
    ],
)
def test_q_values_refusals_and_unknown_codings(
    http: httpx.Client, accept: str, coding: str | None
) -> None:
    r = raw(http, "/widget.js", accept)
    assert r.status_code == 200
    assert r.headers.get("content-encoding") == coding
    assert decoded(r) == BODY


def test_no_accept_encoding_at_all_gets_the_file_as_is(server: Server) -> None:
    """A client that names no coding (curl, a script) may decode none: identity."""
    with httpx.Client() as plain:
        request = plain.build_request("GET", f"{server.http}/widget.js")
        del request.headers["Accept-Encoding"]
        r = plain.send(request)
    assert r.status_code == 200 and "content-encoding" not in r.headers
    assert r.content == BODY


@pytest.mark.parametrize("accept", ["identity;q=0", "*;q=0", "identity;q=0, br;q=0, *;q=0"])
@pytest.mark.parametrize("path", ["/widget.js", "/console/console.js", "/"])
def test_refusing_every_encoding_is_a_typed_406(http: httpx.Client, path: str, accept: str) -> None:
    r = http.get(path, headers={"Accept-Encoding": accept})
    assert r.status_code == 406
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert error["code"] == "not_acceptable"
    assert "br, gzip, identity" in error["message"]


@pytest.mark.parametrize("path", ["/widget.js", "/console/console.css"])
def test_head_answers_the_headers_of_get_without_a_body(http: httpx.Client, path: str) -> None:
    for accept in ("br", "gzip", "identity"):
        got = raw(http, path, accept)
        head = raw(http, path, accept, method="HEAD")
        assert head.status_code == 200 and head.content == b""
        for name in ("content-encoding", "content-length", "etag", "repr-digest", "vary"):
            assert head.headers.get(name) == got.headers.get(name), (accept, name)


def test_a_range_is_ignored_and_the_whole_file_sent(http: httpx.Client) -> None:
    r = raw(http, "/widget.js", "identity", range="bytes=0-9")
    assert r.status_code == 200 and r.content == BODY
    assert "accept-ranges" not in r.headers


HOSTILE: list[str | bytes] = [
    "br;q=2", "br;q=-0", "br;q=NaN", "br;q=1e309", "br;q=0." + "0" * 5000 + "1",
    ";;;,,,", "*" * 8000, "br;" * 2000, ", ".join(["gzip;q=0.5"] * 2000), "br q=1",
    "gzip\t;\tq=1", "gzip;q=1;q=0", '"br"', "br;q", "br=1", "q=1",
    b"br\xff, gzip", b"\xc3\xa9, gzip",
]  # fmt: skip


@pytest.mark.parametrize("accept", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_accept_encoding_values_never_fault(
    http: httpx.Client, accept: str | bytes
) -> None:
    """Anything a client may send gets the file in an encoding it can be read in, or a
    typed error; never a 500."""
    r = http.get("/widget.js", headers={"Accept-Encoding": accept})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 200:
        assert r.content == BODY
    hostile_tags = http.get("/widget.js", headers={"If-None-Match": accept})
    assert hostile_tags.status_code in (200, 304, 400)


def test_an_unknown_console_file_is_a_typed_404(http: httpx.Client) -> None:
    for path in ("/console/nope.js", "/console/..%2Fwidget.js", "/console/console"):
        r = http.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"]["code"] == "not_found"


def test_the_pages_served_are_those_read_at_start_up(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    """A console or demo file changed on disk later is not served, in any encoding."""
    folder = tmp_path / "widget"
    shutil.copytree(WIDGET, folder)
    server = make_server(PARLEY_WIDGET_DIR=str(folder)).start()
    for name in ("console/console.js", "demo.css"):
        (folder / name).write_bytes(b"/* changed on disk */")
    with httpx.Client(base_url=server.http) as http:
        for coding in CODINGS:
            for path in ("/console/console.js", "/demo.css"):
                assert decoded(raw(http, path, coding)) == FILES[path].read_bytes(), path


@pytest.mark.parametrize("missing", ["demo.html", "demo.css", "console/index.html"])
def test_the_server_refuses_to_start_without_its_page_files(tmp_path: Path, missing: str) -> None:
    """The pages are read at start-up like the widget: a missing one is said, not a 500 later."""
    folder = tmp_path / "widget"
    shutil.copytree(WIDGET, folder)
    (folder / missing).unlink()
    result = parley(
        "serve", "--port", "0", "--data-dir", str(tmp_path / "data"),
        env={"PARLEY_WIDGET_DIR": str(folder)},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("parley: error: " + str(folder)), result.stderr
    assert "cannot read" in result.stderr
