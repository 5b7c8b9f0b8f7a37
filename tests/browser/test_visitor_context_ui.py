"""Visitor context, read-only transcripts, ended conversations and links, in a real Chromium."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect
from test_accessibility import blocking_violations
from test_console import end_conversation, open_chat, open_conversation, reply, sign_in
from test_widget import accept, open_widget

from harness import Server, agent, visitor

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
#: 10:04 in Toronto (UTC-5 in November).
NOW = datetime(2026, 11, 23, 15, 4, 0, tzinfo=UTC)


def test_the_context_panel_shows_the_visitors_client_and_their_local_time_ticking(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    page = new_page(locale="fr-CA", timezone_id="America/Toronto", user_agent=FIREFOX)
    open_widget(page, server)
    conversation_id = accept(page)

    console = new_page()
    console.clock.install(time=NOW - timedelta(minutes=1))
    console.clock.pause_at(NOW)
    sign_in(console, server, agent_token)
    open_conversation(console, conversation_id)
    context = console.locator("#visitor-context")
    expect(context).to_be_visible()
    expect(context.locator('[data-context="page"] a')).to_have_attribute("href", f"{server.http}/")
    expect(context.locator('[data-context="browser"]')).to_have_text("Firefox 133 on Windows")
    expect(context.locator('[data-context="locale"]')).to_have_text("fr-CA")
    expect(context.locator('[data-context="time-zone"]')).to_have_text("America/Toronto")
    expect(context.locator('[data-context="address"]')).to_have_text("127.0.0.1")
    local = context.locator('[data-context="local-time"]')
    expect(local).to_contain_text("10:04")
    shot(console, "context-panel")
    console.clock.fast_forward("02:00")
    expect(local).to_contain_text("10:06")
    console.clock.resume()  # axe-core waits on timers
    assert blocking_violations(console) == [], "axe-core, console: visitor context"


def close_after_a_warning(console: Page) -> None:
    console.locator("#transcript input[data-select-seq]").first.check()
    console.click("#warn")
    console.check('#warn-dialog input[name="warn-clause"][value="4.1"]')
    console.click("#confirm-warn")
    expect(console.locator("#warn-dialog")).to_be_hidden()
    expect(console.locator("#transcript .warning-block")).to_be_visible()
    end_conversation(console, "1.1", "Shouting after a warning")


def test_an_earlier_conversation_opens_read_only_with_acceptance_warning_and_closure(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    page, console, first = open_chat(server, agent_token, new_page, "WHERE IS MY PARCEL")
    close_after_a_warning(console)
    page.click("#new-conversation")
    second = accept(page)

    row = console.locator(f'#conversations [data-conversation-id="{second}"]')
    row.click()
    earlier = console.locator(f'#history [data-history-id="{first}"]')
    expect(earlier).to_contain_text("closed under rule 1.1")
    earlier.get_by_role("button", name="Open").click()
    dialog = console.locator("#transcript-dialog")
    expect(dialog).to_be_visible()
    view = dialog.locator("#transcript-view")
    expect(view).to_be_focused()
    expect(dialog.locator("#transcript-dialog-title")).to_contain_text("closed")
    expect(view.locator(".acceptance")).to_contain_text("Accepted")
    expect(view.locator(".acceptance pre.policy-text")).not_to_be_empty()
    expect(view.locator(".warning-block")).to_contain_text("4.1")
    expect(view.locator(".closed-block")).to_contain_text("1.1")
    expect(view.locator(".bubble", has_text="WHERE IS MY PARCEL")).to_be_visible()
    expect(dialog.locator("input, textarea, select")).to_have_count(0)
    expect(dialog.get_by_role("button")).to_have_count(1)  # only Close
    expect(console.locator("#acceptance")).to_have_count(1)  # the open transcript's, not two
    shot(console, "read-only-transcript")
    assert blocking_violations(console) == [], "axe-core, console: read-only transcript"
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(console.locator("#reply")).to_be_enabled()  # the open conversation is untouched


async def ended_conversations(server: Server, token: str) -> tuple[str, str, str]:
    """Two conversations of one visitor, resolved then closed, and one of another, resolved;
    the visitor id, then the ids of the first visitor's second one and the other's."""
    async with agent(server, token) as a:
        ended = []
        async with visitor(server) as v, visitor(server) as other:
            for who, request in ((v, "resolve"), (v, "close"), (other, "resolve")):
                conversation_id = await who.accept()
                await a.send({"type": "join", "conversation_id": conversation_id})
                await a.expect("caught_up")
                frame = {"type": request, "conversation_id": conversation_id}
                await a.send({**frame, "clause_id": "1.1"} if request == "close" else frame)
                await a.expect("done")
                ended.append(conversation_id)
            return v.visitor_id, ended[1], ended[2]


def test_the_ended_view_finds_by_visitor_id_conversation_id_and_date(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    # Playwright's own event loop runs in this thread: the protocol clients get another.
    with ThreadPoolExecutor(1) as other_thread:
        made = other_thread.submit(asyncio.run, ended_conversations(server, agent_token))
        visitor_id, closed, others = made.result()
    console = new_page()
    sign_in(console, server, agent_token)
    console.click("#ended-tab")
    rows = console.locator("#ended-rows tr")
    expect(rows.first).to_have_attribute("data-ended-id", others)  # the latest ended first

    console.fill("#ended-visitor", visitor_id)
    console.click("#ended-search")
    expect(rows).to_have_count(2)
    expect(rows.first).to_have_attribute("data-ended-id", closed)
    expect(rows.first).to_contain_text("closed under rule 1.1")
    shot(console, "ended-by-visitor")
    assert blocking_violations(console) == [], "axe-core, console: ended conversations"

    console.fill("#ended-visitor", "")
    console.fill("#ended-conversation", others)
    console.click("#ended-search")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-ended-id", others)

    console.fill("#ended-conversation", "")
    today = console.evaluate("new Date().toLocaleDateString('en-CA')")  # the agent's day
    console.fill("#ended-from", today)
    console.fill("#ended-to", today)
    console.click("#ended-search")
    expect(console.locator(f'#ended-rows tr[data-ended-id="{closed}"]')).to_be_visible()
    console.fill("#ended-from", "2020-01-01")
    console.fill("#ended-to", "2020-01-02")
    console.click("#ended-search")
    expect(console.locator("#ended-status")).to_have_text("No ended conversation matches")
    expect(rows).to_have_count(0)

    console.fill("#ended-from", "")
    console.fill("#ended-to", "")
    console.fill("#ended-visitor", visitor_id)
    console.click("#ended-search")
    console.locator(f'#ended-rows tr[data-ended-id="{closed}"]').get_by_role("button").click()
    dialog = console.locator("#transcript-dialog")
    expect(dialog.locator(".closed-block")).to_contain_text("1.1")
    expect(dialog.locator("#transcript-dialog-desc")).to_contain_text(closed)


def test_only_http_links_are_clickable_in_the_console_and_the_widget(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    said = "javascript:alert(document.domain) and https://shop.example/orders/42?x=1."
    page, console, _ = open_chat(server, agent_token, new_page, said)
    reply(console, 'Try <a href="javascript:alert(1)">this</a> or http://help.example/returns')

    for where, bubble in (
        (console, console.locator("#transcript .bubble.from-visitor")),
        (page, page.locator("li.msg.visitor[data-seq]")),
    ):
        links = bubble.locator("a")
        expect(links).to_have_count(1)
        expect(links).to_have_attribute("href", "https://shop.example/orders/42?x=1")
        expect(links).to_have_text("https://shop.example/orders/42?x=1")
        expect(links).to_have_attribute("rel", "noopener noreferrer nofollow")
        expect(links).to_have_attribute("target", "_blank")
        expect(bubble).to_contain_text("javascript:alert(document.domain) and https://")
        assert where.evaluate("window.__xss") is None
    for bubble in (
        console.locator("#transcript .bubble.from-agent"),
        page.locator("li.msg.agent"),
    ):
        links = bubble.locator("a")
        expect(links).to_have_count(1)
        expect(links).to_have_attribute("href", "http://help.example/returns")
        expect(bubble).to_contain_text('<a href="javascript:alert(1)">this</a>')
    shot(console, "links-console")
    shot(page, "links-widget")
    assert blocking_violations(page) == [], "axe-core, widget: links"
    assert blocking_violations(console) == [], "axe-core, console: links"
