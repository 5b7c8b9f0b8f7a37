"""An erasure on request seen live in the agent's console, in a real Chromium.

The agent has a visitor's conversation open when an admin erases that visitor
(``POST /api/admin/visitors/{id}/erase``): the messages turn to "(erased)" in place,
without a reload, their evidence picks go, and a line at the end says what was erased
and why; reopening the conversation shows the same. The visitor's widget, reloaded,
shows its messages as erased and carries on (the ``erased`` event breaks nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from test_accessibility import blocking_violations
from test_console import open_conversation, sign_in
from test_widget import accept, open_widget, say

from harness import Server

SECRET = "my phone is 0612345678"
BASIS = "GDPR Art. 17, request 2027-004"


def test_an_erasure_shows_live_in_the_console_and_after_a_reload_in_the_widget(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    server = make_server().start()
    token, admin = server.add_staff("Alice Agent", "agent"), server.add_staff("Dana", "admin")
    page = new_page()
    open_widget(page, server)
    conversation_id = accept(page)
    say(page, SECRET)
    say(page, "and my order is #1234")
    record_of = httpx.get(
        f"{server.http}/api/compliance/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {admin}"},
    )
    visitor_id = record_of.json()["conversation"]["visitor_id"]

    console = new_page()
    sign_in(console, server, token)
    open_conversation(console, conversation_id)
    bubbles = console.locator("#transcript .bubble-text, #transcript .erased")
    expect(bubbles).to_have_text([SECRET, "and my order is #1234"])
    expect(console.locator("#transcript input[data-select-seq]")).to_have_count(2)

    answer = httpx.post(
        f"{server.http}/api/admin/visitors/{visitor_id}/erase", json={"basis": BASIS},
        headers={"Authorization": f"Bearer {admin}"}, timeout=60,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text

    expect(bubbles).to_have_text(["(erased)", "(erased)"])
    expect(console.locator("#transcript")).not_to_contain_text(SECRET)
    expect(console.locator("#transcript input[data-select-seq]")).to_have_count(0)
    record = console.locator('#transcript [data-type="erased"]')
    expect(record).to_contain_text(f"Personal data was erased from events #1, #2, #3 ({BASIS})")
    shot(console, "console-erasure-record")
    assert blocking_violations(console) == [], "axe-core, console: an erasure record"

    console.reload()
    open_conversation(console, conversation_id)
    expect(bubbles).to_have_text(["(erased)", "(erased)"])
    expect(record).to_have_count(1)

    page.reload()
    expect(page.locator("#panel")).to_be_visible()
    expect(page.locator("li.msg.visitor .text")).to_have_text(["(erased)", "(erased)"])
    say(page, "thanks, that is all")
    assert blocking_violations(page) == [], "axe-core, widget: after an erasure"
