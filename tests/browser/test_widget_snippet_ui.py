"""The embed snippet in a real Chromium: Subresource Integrity lets exactly the served build run,
and the acceptance records that build."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable

import httpx
from playwright.sync_api import ConsoleMessage, Page, expect
from test_widget import accept

from harness import Server, Shop, parley


def snippet(server: Server) -> str:
    printed = parley("widget", "snippet", "--url", server.http)
    assert printed.returncode == 0, printed.stderr
    return printed.stdout


def snippet_shop(server: Server, shops: Callable[..., Shop]) -> tuple[Shop, str, dict[str, str]]:
    """A shop on its own origin embedding ``server``'s snippet, the server started for it:
    the shop, a compliance token, and the build the server serves (``/api/widget/build``)."""
    shop = shops(server, embed=snippet(server))
    server.env["PARLEY_ALLOWED_ORIGINS"] = shop.origin
    server.start()
    token = server.add_staff("Carol Compliance", "compliance")
    return shop, token, httpx.get(f"{server.http}/api/widget/build").json()


def test_the_pinned_snippet_runs_and_the_acceptance_records_the_served_build(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shops: Callable[..., Shop],
) -> None:
    """A shop on its own origin pastes what `parley widget snippet` prints: Chromium checks
    the integrity of /widget/<sha>.js (a CORS request) and runs it; the acceptance records
    the served digest, not stale."""
    server = make_server()
    shop, token, served = snippet_shop(server, shops)
    page = new_page()
    with page.expect_response(f"{server.http}{served['url']}") as loaded:
        page.goto(shop.origin)
    assert loaded.value.status == 200
    page.click("#launcher")
    conversation_id = accept(page)
    record = httpx.get(
        f"{server.http}/api/compliance/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()["acceptance"]
    assert record["widget_build"] == served["build"]
    assert record["widget_sha256"] == served["sha256"]
    assert record["widget_served_sha256"] == served["sha256"]
    assert record["widget_stale"] is False


def test_a_tampered_integrity_keeps_the_widget_from_running(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shops: Callable[..., Shop],
    tolerated_errors: list[str],
) -> None:
    """The same snippet with the integrity of other bytes: Chromium refuses the script."""
    tolerated_errors.append("integrity")
    server = make_server()
    printed = snippet(server)
    other = "sha384-" + base64.b64encode(hashlib.sha384(b"another widget").digest()).decode()
    tampered = re.sub(r'integrity="sha384-[^"]+"', f'integrity="{other}"', printed)
    assert tampered != printed
    shop = shops(server, embed=tampered)
    server.env["PARLEY_ALLOWED_ORIGINS"] = shop.origin
    server.start()
    page = new_page()
    refusals: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "integrity" in message.text:
            refusals.append(message.text)

    page.on("console", on_console)
    page.goto(shop.origin)  # waits for the load event, which waits for the async script
    expect(page.locator("h1")).to_have_text("Shop")
    assert page.evaluate("document.getElementById('parley-widget')") is None
    assert page.evaluate("typeof window.parley") == "undefined"
    assert refusals and "blocked" in refusals[0]
