"""A real Chromium (Debian's), driven by Playwright, for the widget and the console."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from harness import REPO, Server, Shop

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def tolerated_errors() -> list[str]:
    """Substrings of browser errors a test causes on purpose (e.g. stopping the server)."""
    return []


@pytest.fixture
def new_page(browser: Browser, tolerated_errors: list[str]) -> Iterator[Callable[..., Page]]:
    """Pages in fresh contexts (own localStorage); any other script error fails the test."""
    errors: list[str] = []
    contexts = []

    def make(
        width: int = 1280,
        height: int = 800,
        address: str | None = None,
        permissions: list[str] | None = None,
        **options: Any,
    ) -> Page:
        """``address``: reach the server from it, through X-Forwarded-For (for a server that
        trusts 127.0.0.1 as a proxy). ``permissions``: granted to the page, e.g.
        ``["notifications"]``. ``options``: more of the context's (locale, timezone_id,
        user_agent...)."""
        headers = {"X-Forwarded-For": address} if address else {}
        context = browser.new_context(
            viewport={"width": width, "height": height}, extra_http_headers=headers, **options
        )
        if permissions:  # an empty list would deny every permission, not leave them unasked
            context.grant_permissions(permissions)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
        page.on(
            "console",
            lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None,
        )
        return page

    yield make
    for context in contexts:
        context.close()
    unexpected = [e for e in errors if not any(t in e for t in tolerated_errors)]
    assert unexpected == [], "the browser reported errors"


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Save a screenshot under test-artifacts/ (git-ignored), named after the test."""

    def take(page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{request.node.name}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def shops() -> Iterator[Callable[..., Shop]]:
    """Sites of their own, each embedding a Parley server's widget; closed at the end."""
    opened: list[Shop] = []

    def make(
        parley: Server, attributes: str = "", before: str = "", embed: str | None = None
    ) -> Shop:
        opened.append(Shop(parley, attributes, before, embed))
        return opened[-1]

    yield make
    for shop in opened:
        shop.close()
