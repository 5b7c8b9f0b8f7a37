"""A visitor's copy of their data (docs/compliance.md, "Access requests") in Chromium.

The page is opened as the visitor would open the file they were sent: a hostile
message shows as text — no element, no script of its own — and axe-core finds
no critical or serious violation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from test_accessibility import blocking_violations

from access_scene import HOSTILE, make_scene
from harness import Server


def test_the_visitors_copy_shows_hostile_text_as_text_and_passes_axe(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
    tmp_path: Path,
) -> None:
    s = make_scene(make_server().start())
    answer = httpx.get(
        f"{s.server.http}/api/compliance/visitors/{s.visitor_id}/export",
        params={"format": "html"},
        headers={"Authorization": f"Bearer {s.compliance}"},
    )
    assert answer.status_code == 200, answer.text
    copy = tmp_path / "my-data.html"
    copy.write_text(answer.text, encoding="utf-8")

    page = new_page()
    page.goto(copy.as_uri())
    expect(page.get_by_role("heading", level=1)).to_have_text("The data Parley holds about you")
    expect(page.locator("table.chat").first).to_contain_text(HOSTILE)
    assert page.locator("script, img, [onerror]").count() == 0
    assert page.evaluate("() => window.pwned") is None
    expect(page.locator("#bars")).to_contain_text("placed on you")
    expect(page.locator("#policy pre.policy-text").first).to_be_visible()
    shot(page, "visitor-copy")
    assert blocking_violations(page) == [], "axe-core, a visitor's copy of their data"
