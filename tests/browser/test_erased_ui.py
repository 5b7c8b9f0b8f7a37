"""Erased fields in the console and the widget, in a real Chromium.

A visitor's message erased in the server's store (transcript format 2: value and
salt gone, commitment kept) shows as "(erased)" — in the agent's console when the
conversation is opened, and in the visitor's widget when it replays the
conversation after a reload — and nowhere as its former text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, expect
from test_accessibility import blocking_violations
from test_console import open_conversation, sign_in
from test_widget import accept, open_widget, say

from harness import Server
from parley.domain.erasure import erase
from parley.store import open_store

SECRET = "my phone is 0612345678"


async def erase_text(db: Path, conversation_id: str, seq: int) -> None:
    store = await open_store(f"sqlite:{db}")
    try:
        event = next(e for e in await store.events(conversation_id) if e.seq == seq)
        at = datetime(2027, 1, 4, 9, 12, tzinfo=UTC)
        await store.rewrite_event(erase(event, ["text"], at=at, by="s_dpo", basis="Art. 17"))
    finally:
        await store.close()


def test_an_erased_message_shows_as_erased_to_agent_and_visitor(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    server = make_server().start()
    token = server.add_staff("Alice Agent", "agent")
    page = new_page()
    open_widget(page, server)
    conversation_id = accept(page)
    say(page, SECRET)
    say(page, "and my order is #1234")
    with ThreadPoolExecutor(1) as pool:  # Playwright's sync API holds this thread's loop
        pool.submit(
            asyncio.run, erase_text(server.data_dir / "parley.db", conversation_id, 2)
        ).result()

    console = new_page()
    sign_in(console, server, token)
    open_conversation(console, conversation_id)
    bubbles = console.locator("#transcript .bubble-text, #transcript .erased")
    expect(bubbles).to_have_text(["(erased)", "and my order is #1234"])
    expect(console.locator("#transcript")).not_to_contain_text(SECRET)
    picks = console.locator("#transcript input[data-select-seq]")
    expect(picks).to_have_count(1)  # the erased message cannot be quoted as evidence
    expect(picks).to_have_attribute("data-select-seq", "3")
    shot(console, "console-erased-message")
    assert blocking_violations(console) == [], "axe-core, console: an erased message"

    page.reload()
    expect(page.locator("#panel")).to_be_visible()  # open before the reload, open after it
    texts = page.locator("li.msg.visitor .text")
    expect(texts).to_have_text(["(erased)", "and my order is #1234"])
    expect(page.locator("#panel")).not_to_contain_text(SECRET)
    shot(page, "widget-erased-message")
    assert blocking_violations(page) == [], "axe-core, widget: an erased message"
