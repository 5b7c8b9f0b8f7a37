"""Subresource Integrity over a compressed widget, in a real Chromium: the integrity is of
the decoded script, so the pinned snippet runs whether the server sends it as br, gzip or as
it is (docs/widget.md, Caching and compression)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import Page
from test_widget import accept
from test_widget_snippet_ui import snippet_shop

from harness import REPO, Server, Shop

#: What a page asks for → the encoding the server sends; None: what Chromium asks by itself.
ENCODINGS = {None: "br", "br": "br", "gzip": "gzip", "identity": None}


def test_the_pinned_snippet_runs_over_every_encoding(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shops: Callable[..., Shop],
) -> None:
    """Chromium checks the snippet's sha384 against the decoded bytes and runs the widget,
    sent as br (what it asks for by itself, on loopback), gzip or identity; each acceptance
    records the served build, not stale."""
    server = make_server()
    shop, token, served = snippet_shop(server, shops)
    for asked, coding in ENCODINGS.items():
        page = new_page()  # a context of its own: nothing cached
        if asked is not None:
            page.set_extra_http_headers({"Accept-Encoding": asked})
        with page.expect_response(f"{server.http}{served['url']}") as loaded:
            page.goto(shop.origin)
        response = loaded.value
        assert response.status == 200
        assert response.all_headers().get("content-encoding") == coding, asked
        assert response.body() == (REPO / "widget" / "widget.js").read_bytes()
        page.click("#launcher")
        conversation_id = accept(page)
        record = httpx.get(
            f"{server.http}/api/compliance/conversations/{conversation_id}",
            headers={"Authorization": f"Bearer {token}"},
        ).json()["acceptance"]
        assert (record["widget_sha256"], record["widget_stale"]) == (served["sha256"], False)
        page.close()
