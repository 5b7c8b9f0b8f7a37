"""Bars in the browser: the visitor's barred notice, the console's bar options, history,
flooding badge and the admins' Bans view, against a real server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect
from test_console import open_conversation, sign_in
from test_moderation_ui import select_evidence
from test_widget import accept, open_widget, say

from harness import Server
from parley import policy_files

ADDRESS = "198.51.100.23"
THREAT = "I know where your office is and I will come round"


@pytest.fixture
def page_at(new_page: Callable[..., Page]) -> Callable[..., Page]:
    """Visitor pages in fresh contexts (cleared storage) that reach the server from ``address``."""

    def make(address: str, width: int = 1280, height: int = 800) -> Page:
        return new_page(width, height, address=address)

    return make


def bans(server: Server, token: str, everything: bool = False) -> list[dict]:
    answer = httpx.get(
        f"{server.http}/api/admin/bans" + ("?all=true" if everything else ""),
        headers={"Authorization": f"Bearer {token}"},
    )
    answer.raise_for_status()
    return list(answer.json()["items"])


def expect_barred(page: Page, title: str, text: str, until: str) -> None:
    """The barred notice in place of the gate: rule, clause text, until when; no way to start."""
    barred = page.locator("#barred")
    expect(barred).to_be_visible()
    expect(barred).to_have_attribute("role", "alert")
    expect(barred.locator("h3")).to_have_text("You can't start a new conversation")
    expect(page.locator("#barred-text")).to_contain_text("You cannot start a conversation until")
    expect(page.locator("#barred-clause")).to_contain_text(f"Rule 1.2, “{title}”")
    expect(page.locator("#barred-clause")).to_contain_text(text)
    # In the visitor's own zone and words, not the server's ISO time.
    expect(page.locator("#barred-until time")).to_have_attribute("datetime", until)
    expect(page.locator("#barred")).not_to_contain_text(until[:16])
    expect(page.locator("#gate")).to_be_hidden()
    expect(page.locator("#start")).to_be_hidden()
    expect(page.locator("#new-conversation")).to_have_count(0)
    expect(page.locator("#message")).to_be_disabled()


def test_a_bar_keeps_the_visitor_out_until_an_admin_lifts_it(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    page_at: Callable[..., Page],
    shot: Callable[[Page, str], object],
) -> None:
    s = make_server(PARLEY_TRUSTED_PROXIES="127.0.0.1").start()
    agent_token = s.add_staff("Alice Agent", "agent")
    admin_token = s.add_staff("Dan Admin", "admin")
    threats = next(v for v in policy_files.load_folder(s.policies) if v.version == 2).clause("1.2")

    visitor = page_at(ADDRESS)
    open_widget(visitor, s)
    conversation_id = accept(visitor)
    say(visitor, THREAT)

    # The agent ends the conversation citing 1.2 and bars the visitor and their address for 7 days.
    agent = new_page()
    sign_in(agent, s, agent_token)
    expect(agent.locator("#bans-tab")).to_be_hidden()  # agents have no Bans view
    open_conversation(agent, conversation_id)
    select_evidence(agent, THREAT)
    agent.click("#end-conversation")
    expect(agent.locator("#bar-duration")).to_have_value("")
    expect(agent.locator("#bar-ip")).to_be_disabled()
    options = agent.locator("#bar-duration option")
    assert options.evaluate_all("os => os.map(o => [o.value, o.textContent])") == [
        ["", "Don't bar"],
        ["24", "24 hours"],
        ["168", "7 days"],
        ["720", "30 days"],
        ["2160", "90 days"],
        ["permanent", "Permanently"],
    ]
    agent.check('#close-dialog input[name="clause"][value="1.2"]')
    agent.select_option("#bar-duration", "168")
    agent.fill("#bar-network", "not-a-network")
    agent.click("#confirm-close")
    expect(agent.locator("#close-error")).to_contain_text("is not a network")
    expect(visitor.locator("#message")).to_be_enabled()  # refused: nothing closed
    agent.fill("#bar-network", "")
    agent.check("#bar-ip")
    expect(agent.locator("#confirm-close")).to_have_text(
        "End conversation citing clause 1.2 and bar the visitor"
    )
    shot(agent, "close-dialog-with-bar")
    before = datetime.now(UTC)
    agent.click("#confirm-close")
    expect(agent.locator("#close-dialog")).to_be_hidden()

    (ban,) = bans(s, admin_token)
    assert ban["network"] == f"{ADDRESS}/32" and ban["conversation_id"] == conversation_id
    until = datetime.fromisoformat(ban["until"])
    assert timedelta(days=7) <= until - before <= timedelta(days=7, minutes=1)

    # The visitor sees the closure notice and, instead of "Start a new conversation", the bar.
    expect_barred(visitor, threats.title, threats.text, ban["until"])
    expect(visitor.locator("#notice")).to_contain_text("This conversation has ended")
    shot(visitor, "barred-after-closure")
    visitor.locator("#barred h3").scroll_into_view_if_needed()
    shot(visitor, "barred-after-closure-notice")

    # A reload keeps showing it, and so does a browser with cleared storage at the same address.
    visitor.reload()
    expect(visitor.locator("#panel")).to_be_visible()
    expect_barred(visitor, threats.title, threats.text, ban["until"])
    expect(visitor.locator("#notice")).to_be_visible()
    fresh = page_at(ADDRESS, width=360, height=640)
    open_widget(fresh, s)
    expect_barred(fresh, threats.title, threats.text, ban["until"])
    expect(fresh.locator("#notice")).to_be_hidden()
    box = fresh.locator("#barred").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    shot(fresh, "barred-fresh-browser")

    # An admin finds the bar in the Bans view and lifts it, giving a reason.
    admin = new_page()
    sign_in(admin, s, admin_token)
    expect(admin.locator("#bans-tab")).to_be_visible()
    admin.click("#bans-tab")
    row = admin.locator(f'#bans tr[data-ban-id="{ban["id"]}"]')
    expect(row).to_contain_text(f"{ADDRESS}/32")
    expect(row).to_contain_text(f"1.2 {threats.title}")
    expect(row).to_contain_text(conversation_id)
    expect(row).to_contain_text(f"{ban['until'][:16].replace('T', ' ')} UTC")
    expect(admin.locator("#app-view")).to_be_hidden()
    shot(admin, "bans-view")
    row.get_by_role("button", name="Lift the bar").click()
    expect(admin.locator("#lift-dialog")).to_be_visible()
    expect(admin.locator("#confirm-lift")).to_be_disabled()
    admin.fill("#lift-reason", "Appeal upheld: apologised by email")
    shot(admin, "lift-dialog")
    admin.click("#confirm-lift")
    expect(admin.locator("#lift-dialog")).to_be_hidden()
    expect(admin.locator("#bans tr[data-ban-id]")).to_have_count(0)
    expect(admin.locator("#bans-empty")).to_have_text("No bars in force")
    expect(admin.locator("#bans-status")).to_contain_text("Lifted the bar")
    shot(admin, "bans-lifted")
    (lifted,) = bans(s, admin_token, everything=True)
    assert lifted["lift_reason"] == "Appeal upheld: apologised by email" and lifted["lifted_by"]

    # Back to conversations, and the same address is offered the policy again.
    admin.click("#conversations-tab")
    expect(admin.locator("#app-view")).to_be_visible()
    welcome_back = page_at(ADDRESS)
    open_widget(welcome_back, s)
    expect(welcome_back.locator("#gate")).to_be_visible()
    expect(welcome_back.locator("#barred")).to_be_hidden()
    assert accept(welcome_back) != conversation_id


def test_the_agent_sees_a_flooding_badge_and_the_visitors_earlier_warning_and_closure(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], object],
) -> None:
    s = make_server(PARLEY_MESSAGES_PER_MINUTE="3").start()
    agent_token = s.add_staff("Alice Agent", "agent")
    flooding = next(v for v in policy_files.load_folder(s.policies) if v.version == 2).clause("4.1")

    agent = new_page()
    sign_in(agent, s, agent_token)
    visitor = new_page()
    open_widget(visitor, s)
    first = accept(visitor)
    for text in ("HELLO???", "ANYONE???", "ANSWER ME"):
        say(visitor, text)
    visitor.fill("#message", "ANSWER ME NOW")
    visitor.press("#message", "Enter")
    held = visitor.locator("li.msg.visitor", has_text="ANSWER ME NOW")
    expect(held.locator(".state")).to_have_text("Sending…")  # resent after retry_after

    badge = agent.locator(f'#conversations [data-conversation-id="{first}"] [data-flag="flooding"]')
    expect(badge).to_have_text("Flooding")
    row = agent.locator(f'#conversations [data-conversation-id="{first}"]')
    expect(row).to_contain_text("Visitor: ANSWER ME")  # the flag changes nothing else in the row
    shot(agent, "flooding-badge")

    open_conversation(agent, first)
    expect(agent.locator("#history")).to_be_visible()
    expect(agent.locator("#history")).to_contain_text("No earlier conversations")
    select_evidence(agent, "ANYONE???")
    agent.click("#warn")
    agent.check('#warn-dialog input[name="warn-clause"][value="4.1"]')
    agent.click("#confirm-warn")
    expect(agent.locator('#transcript [data-type="warning"]')).to_be_visible()
    select_evidence(agent, "ANSWER ME")
    agent.click("#end-conversation")
    agent.check('#close-dialog input[name="clause"][value="4.1"]')
    agent.click("#confirm-close")  # "Don't bar" is the default
    expect(agent.locator("#close-dialog")).to_be_hidden()

    # Not barred: the visitor may start again, after accepting the policy again.
    expect(visitor.locator("#barred")).to_be_hidden()
    visitor.click("#new-conversation")
    second = accept(visitor)

    agent.locator(f'#conversations [data-conversation-id="{second}"]').click()
    expect(agent.locator("#acceptance")).to_be_visible()
    history = agent.locator("#history")
    expect(history.locator("#history-title")).to_have_text("Earlier conversations (1)")
    item = history.locator(f'[data-history-id="{first}"]')
    expect(item).to_contain_text(f"closed under rule 4.1 “{flooding.title}”")
    expect(item.locator(".history-warnings li")).to_have_text(
        [f"Warned under rule 4.1 “{flooding.title}”"]
    )
    expect(history.locator("#history-empty")).to_be_hidden()
    shot(agent, "history")
