"""The widget build on record, through the real server: the build it serves (read once at
start-up, revalidated or cached for good), the embed snippet, and what acceptances record."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from harness import REPO, RedisServer, Server, api, assert_clean, client, parley, visitor

WIDGET = REPO / "widget"
BODY = (WIDGET / "widget.js").read_bytes()
SHA256 = hashlib.sha256(BODY).hexdigest()
SRI = "sha384-" + base64.b64encode(hashlib.sha384(BODY).digest()).decode()
OLDER = hashlib.sha256(b"an older build of the widget").hexdigest()
#: The uncompressed file (tests/e2e/test_static_files.py: its brotli and gzip encodings).
PLAIN = {"Accept-Encoding": "identity"}


def build_of(server: Server) -> dict[str, Any]:
    r = httpx.get(f"{server.http}/api/widget/build")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_the_build_endpoint_names_the_served_widget(server: Server) -> None:
    build = build_of(server)
    assert build["sha256"] == SHA256
    assert build["sri"] == SRI
    assert build["url"] == f"/widget/{SHA256}.js"
    assert build["build"].startswith("parley-widget/") and build["build"].encode() in BODY


def test_widget_js_is_revalidated_by_its_etag_and_carries_its_digest(server: Server) -> None:
    """/widget.js: the exact file, ETag = its SHA-256, no-cache (304 on revalidation),
    Repr-Digest (RFC 9530) of the body; any site may load it, also for SRI (CORS, CORP)."""
    r = httpx.get(f"{server.http}/widget.js", headers=PLAIN)
    assert r.status_code == 200
    assert r.content == BODY
    assert r.headers["etag"] == f'"{SHA256}"'
    assert r.headers["cache-control"] == "no-cache"
    digest = base64.b64encode(hashlib.sha256(r.content).digest()).decode()
    assert r.headers["repr-digest"] == f"sha-256=:{digest}:"
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    assert r.headers["x-content-type-options"] == "nosniff"
    for tag in [f'"{SHA256}"', f'W/"{SHA256}"', f'"{OLDER}", "{SHA256}"', "*"]:
        again = httpx.get(f"{server.http}/widget.js", headers={**PLAIN, "If-None-Match": tag})
        assert again.status_code == 304, tag
        assert again.content == b""
        assert again.headers["etag"] == f'"{SHA256}"'
        assert again.headers["cache-control"] == "no-cache"
    changed = httpx.get(
        f"{server.http}/widget.js", headers={**PLAIN, "If-None-Match": f'"{OLDER}"'}
    )
    assert changed.status_code == 200 and changed.content == BODY


def test_the_content_addressed_build_is_cached_for_good(server: Server) -> None:
    r = httpx.get(f"{server.http}/widget/{SHA256}.js", headers=PLAIN)
    assert r.status_code == 200
    assert r.content == BODY
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["etag"] == f'"{SHA256}"'
    current = httpx.get(f"{server.http}/widget.js", headers=PLAIN)
    assert r.headers["repr-digest"] == current.headers["repr-digest"]
    assert r.headers["access-control-allow-origin"] == "*"
    same = httpx.get(
        f"{server.http}/widget/{SHA256}.js", headers={**PLAIN, "If-None-Match": f'"{SHA256}"'}
    )
    assert same.status_code == 304


@pytest.mark.parametrize("digest", [OLDER, SHA256.upper(), SHA256[:-1], "widget", "%2e%2e"])
def test_any_other_digest_is_a_typed_404(server: Server, digest: str) -> None:
    """Only the current build is served at a content address."""
    r = httpx.get(f"{server.http}/widget/{digest}.js")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    error = r.json()["error"]
    assert error["code"] == "widget_build_not_found"
    assert f"/widget/{SHA256}.js" in error["message"]


def test_the_served_bytes_are_those_read_at_start_up(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    """The server reads widget.js once: a file changed on disk later is not served, and
    nothing the server says about its build changes."""
    folder = tmp_path / "widget"
    shutil.copytree(WIDGET, folder)
    server = make_server(PARLEY_WIDGET_DIR=str(folder)).start()
    (folder / "widget.js").write_bytes(BODY.replace(b"Chat with support", b"Changed on disk"))
    assert httpx.get(f"{server.http}/widget.js").content == BODY
    assert httpx.get(f"{server.http}/widget/{SHA256}.js").content == BODY
    assert build_of(server)["sha256"] == SHA256


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (BODY.replace(b"const BUILD = ", b"const VERSION = "), "declares no build"),
        (None, "cannot read the widget"),
    ],
)
def test_the_server_refuses_to_start_without_a_widget_build(
    tmp_path: Path, body: bytes | None, problem: str
) -> None:
    folder = tmp_path / "widget"
    shutil.copytree(WIDGET, folder)
    if body is None:
        (folder / "widget.js").unlink()
    else:
        (folder / "widget.js").write_bytes(body)
    result = parley(
        "serve", "--port", "0", "--data-dir", str(tmp_path / "data"),
        env={"PARLEY_WIDGET_DIR": str(folder)},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"parley: error: {folder / 'widget.js'}: {problem}")


def test_the_snippet_pins_the_served_build_with_its_integrity() -> None:
    pinned = parley("widget", "snippet", "--url", "https://chat.example.com/")
    assert pinned.returncode == 0, pinned.stderr
    comment, tag = pinned.stdout.splitlines()
    assert comment.startswith("<!-- Parley widget parley-widget/") and SHA256 in comment
    assert tag == (
        f'<script src="https://chat.example.com/widget/{SHA256}.js" integrity="{SRI}" '
        'crossorigin="anonymous" async></script>'
    )
    unpinned = parley("widget", "snippet", "--no-pinned", "--url", "https://chat.example.com")
    assert unpinned.stdout.splitlines()[1] == (
        '<script src="https://chat.example.com/widget.js" async></script>'
    )
    default = parley("widget", "snippet", env={"PARLEY_PORT": "8123"})
    assert f'src="http://127.0.0.1:8123/widget/{SHA256}.js"' in default.stdout


async def recorded(server: Server, token: str, **client_facts: Any) -> dict[str, Any]:
    """The acceptance record of a visitor whose widget reported ``client_facts``."""
    async with visitor(server, client=client_facts) as v:
        conversation_id = await v.accept()
    r = await api(server, f"/api/compliance/conversations/{conversation_id}", token)
    acceptance: dict[str, Any] = r.json()["acceptance"]
    return acceptance


def on_record(acceptance: dict[str, Any]) -> tuple[str | None, str | None, bool | None]:
    return (
        acceptance["widget_sha256"],
        acceptance["widget_served_sha256"],
        acceptance["widget_stale"],
    )


@pytest.fixture(params=["sqlite", "redis"])
def store_server(request: pytest.FixtureRequest, make_server: Callable[..., Server]) -> Server:
    """The shared server (SQLite), or one of this test's own on the session's Redis, emptied
    first (an earlier test's bars of 127.0.0.1 would keep the policy from being offered)."""
    if request.param == "sqlite":
        shared: Server = request.getfixturevalue("server")
        return shared
    redis: RedisServer = request.getfixturevalue("redis_server")
    redis.flush()
    return make_server(PARLEY_STORE=redis.url).start()


async def test_acceptances_record_which_build_the_widget_was_loaded_from(
    store_server: Server,
) -> None:
    """Build on record: served, stale (an older build string or an older cached build's
    URL), or unknown, next to what the widget says of itself; on both stores."""
    server = store_server
    token = server.add_staff("Carol Compliance", "compliance")
    served = build_of(server)["build"]
    pinned = f"{server.http}/widget/{SHA256}.js"
    cases = [
        ({"script_url": pinned, "widget_build": served}, (SHA256, SHA256, False)),
        ({"script_url": f"{server.http}/widget.js", "integrity": SRI}, (SHA256, SHA256, False)),
        ({"widget_build": "parley-widget/0.0.1"}, (None, SHA256, True)),
        ({"script_url": f"{server.http}/widget/{OLDER}.js"}, (OLDER, SHA256, True)),
        ({"script_url": f"{server.http}/widget.js", "widget_build": served}, (None, SHA256, None)),
        ({}, (None, SHA256, None)),
    ]
    for facts, expected in cases:
        acceptance = await recorded(server, token, **facts)
        assert on_record(acceptance) == expected, facts
        assert acceptance["widget_build"] == facts.get("widget_build")
    listing = await api(server, "/api/compliance/acceptances?format=csv&limit=500", token)
    rows = list(csv.DictReader(io.StringIO(listing.text)))
    stale = [r for r in rows if r["widget_build"] == "parley-widget/0.0.1"][-1]
    assert (stale["widget_sha256"], stale["widget_served_sha256"], stale["widget_stale"]) == (
        "",
        SHA256,
        "true",
    )


HOSTILE = [
    {"script_url": "https://chat.example.com/" + "a" * 2024},
    {"integrity": "sha384-" + "A" * 194},
    {"script_url": 5},
    {"script_url": ["https://chat.example.com/widget.js"]},
    {"integrity": {"sha384": SRI}},
    {"integrity": True},
]


async def test_hostile_script_url_or_integrity_is_a_typed_error_and_nothing_is_recorded(
    make_server: Callable[..., Server],
) -> None:
    """Over 2048 / 200 characters, or not a string: invalid_frame, no visitor, no acceptance."""
    server = make_server().start()
    token = server.add_staff("Carol Compliance", "compliance")
    for hostile in HOSTILE:
        async with client(f"{server.ws}/ws/visitor") as v:
            await v.send({"type": "hello", "client": hostile})
            error = await v.expect("error")
            assert_clean(error)
            assert error["code"] == "invalid_frame", hostile
            assert "client" in error["message"]
            accept = {"type": "accept", "policy_id": "conduct", "version": 2, "sha256": "0" * 64}
            await v.send(accept)
            assert (await v.expect("error"))["code"] == "hello_required"
    listing = await api(server, "/api/compliance/acceptances", token)
    assert listing.json()["items"] == []
    limits = {"script_url": "a" * 2048, "integrity": SRI + " " + "sha512-" + "A" * 88}
    async with visitor(server, client=limits) as v:
        await v.accept()
