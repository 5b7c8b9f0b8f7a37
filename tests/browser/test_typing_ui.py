"""Typing indicators, read state, canned replies and notifications, in a real Chromium."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from test_accessibility import check
from test_console import open_chat, open_conversation, reply, sign_in
from test_widget import accept, open_widget, say

from harness import Server

TITLE = "Parley · Agent console"
# Records each desktop notification the page shows, and each tone it plays, then lets the
# browser show and play them.
NOTIFICATION_SPY = """
window.__tones = 0;
const realStart = OscillatorNode.prototype.start;
OscillatorNode.prototype.start = function (...args) {
  window.__tones++;
  return realStart.apply(this, args);
};
window.__notified = [];
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options) {
    super(title, options);
    window.__notified.push({ title, body: options?.body });
  }
};
"""


def test_typing_indicators_appear_on_both_sides_and_expire(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    visitor, agent, _ = open_chat(server, agent_token, new_page, "Hello, is anyone there?")
    visitor.fill("#message", "I ordered on Monday")
    expect(agent.locator("#typing")).to_have_text("Visitor is typing…")
    shot(agent, "console-visitor-typing")
    check(agent, "console: visitor typing")
    visitor.press("#message", "Enter")
    expect(agent.locator("#typing")).to_be_empty()  # their message arrived

    agent.fill("#reply", "Let me check")
    expect(visitor.locator("#typing")).to_have_text("Alice Agent is typing…")
    shot(visitor, "widget-agent-typing")
    check(visitor, "widget: agent typing")
    agent.fill("#reply", "")
    expect(visitor.locator("#typing")).to_be_empty()  # emptied: "stopped" goes out

    # A sender that vanishes without saying "stopped": the indicator expires on its own.
    visitor.evaluate("window.parley.send({type: 'typing', state: true})")
    expect(agent.locator("#typing")).to_have_text("Visitor is typing…")
    expect(agent.locator("#typing")).to_be_empty(timeout=15_000)


def test_seen_shows_under_the_last_message_the_other_side_read(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    visitor, agent, _ = open_chat(server, agent_token, new_page, "Hello, is anyone there?")
    mine = visitor.locator("li.msg.visitor", has_text="Hello, is anyone there?")
    expect(mine.locator(".seen")).to_have_text("Seen")  # the console has it open
    reply(agent, "Yes, I am here.")
    expect(visitor.locator("li.msg.agent", has_text="Yes, I am here.")).to_be_visible()
    answer = agent.locator('#transcript [data-author-role="agent"]', has_text="Yes, I am here.")
    expect(answer.locator(".seen")).to_have_text(" · Seen")  # the widget's panel is open
    shot(visitor, "widget-seen")
    shot(agent, "console-seen")
    check(agent, "console: seen")
    say(visitor, "Thank you")
    expect(visitor.locator("#seen")).to_have_count(1)
    expect(visitor.locator("li.msg.visitor", has_text="Thank you").locator(".seen")).to_be_visible()


def test_a_slash_shortcut_offers_canned_replies_and_the_keyboard_inserts_one(
    server: Server,
    agent_token: str,
    admin_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    admin = {"Authorization": f"Bearer {admin_token}"}
    for shortcut, text in (
        ("refund", "Your refund is on its way."),
        ("hours", "We are open 9 to 5."),
    ):
        added = httpx.post(
            f"{server.http}/api/admin/canned", json={"shortcut": shortcut, "text": text},
            headers=admin,
        )  # fmt: skip
        assert added.status_code in (200, 409), added.text
    _, agent, _ = open_chat(server, agent_token, new_page, "Hello, is anyone there?")
    agent.click("#reply")
    agent.keyboard.type("Hi! /re")
    options = agent.locator("#canned-list [role=option]")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("/refund")
    expect(agent.locator("#reply")).to_have_attribute("aria-activedescendant", "canned-option-0")
    shot(agent, "console-canned")
    check(agent, "console: canned replies offered")
    agent.keyboard.press("Enter")
    expect(agent.locator("#reply")).to_have_value("Hi! Your refund is on its way.")
    expect(agent.locator("#canned-list")).to_be_hidden()

    agent.fill("#reply", "")
    agent.keyboard.type("/")
    expect(options).to_have_count(2)  # every reply, by shortcut
    agent.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    agent.keyboard.press("Tab")
    expect(agent.locator("#reply")).to_have_value("Your refund is on its way.")
    agent.keyboard.type(" /")
    agent.keyboard.press("Escape")
    expect(agent.locator("#canned-list")).to_be_hidden()
    expect(agent.locator("#reply")).to_have_value("Your refund is on its way. /")

    # An admin's change reaches the console at once.
    httpx.post(
        f"{server.http}/api/admin/canned", json={"shortcut": "zz-new", "text": "Brand new."},
        headers=admin,
    )  # fmt: skip
    agent.fill("#reply", "")
    agent.keyboard.type("/zz")
    expect(options).to_have_count(1)
    agent.keyboard.press("Enter")
    expect(agent.locator("#reply")).to_have_value("Brand new.")


def test_the_title_counts_unread_messages_elsewhere_and_a_notification_is_shown(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    """A visitor writes in a conversation the agent is not looking at: the title shows the
    unread count, the row says how many, a chime plays and a desktop notification is shown
    (the permission is granted); opening the conversation, its end, or signing out clears
    the count."""
    visitor = new_page()
    open_widget(visitor, server)
    first = accept(visitor)
    agent = new_page(permissions=["notifications"])
    agent.add_init_script(NOTIFICATION_SPY)
    sign_in(agent, server, agent_token)
    open_conversation(agent, first)
    expect(agent.locator("#notifications")).to_have_text("Notifications on")
    expect(agent).to_have_title(TITLE)

    other = new_page()
    open_widget(other, server)
    second = accept(other)
    say(other, "My parcel is lost")
    expect(agent).to_have_title(f"(1) {TITLE}")
    say(other, "Hello?")
    expect(agent).to_have_title(f"(2) {TITLE}")
    row = agent.locator(f'#conversations [data-conversation-id="{second}"]')
    expect(row.locator(".unread")).to_have_text("2 new")
    assert agent.evaluate("window.__tones") == 4, "a two-tone chime per message"
    notified = agent.evaluate("window.__notified")
    assert [n["body"] for n in notified] == ["My parcel is lost", "Hello?"]
    assert notified[0]["title"].startswith("Visitor ")
    shot(agent, "console-unread")
    check(agent, "console: unread count")
    row.click()
    expect(agent).to_have_title(TITLE)
    expect(agent.locator("#conversations .unread")).to_have_count(0)
    say(visitor, "Me again")  # in the conversation the agent left
    expect(agent).to_have_title(f"(1) {TITLE}")
    elsewhere = new_page()  # the agent's other console: it holds the conversation too
    sign_in(elsewhere, server, agent_token)
    open_conversation(elsewhere, first)
    elsewhere.click("#resolve")
    expect(agent).to_have_title(TITLE)  # an ended conversation has nothing left to read

    third = new_page()
    open_widget(third, server)
    accept(third)
    say(third, "Hi")
    expect(agent).to_have_title(f"(1) {TITLE}")
    agent.click("#sign-out")
    expect(agent).to_have_title(TITLE)


def test_notifications_are_asked_for_only_from_the_button(
    server: Server, agent_token: str, new_page: Callable[..., Page]
) -> None:
    """No permission prompt on load; the button asks, and the answer shows on it."""
    agent = new_page()
    agent.add_init_script(
        "window.__asked = 0; const ask = Notification.requestPermission.bind(Notification);"
        "Notification.requestPermission = () => { window.__asked++; return ask(); };"
    )
    sign_in(agent, server, agent_token)
    expect(agent.locator("#notifications")).to_have_text("Enable notifications")
    assert agent.evaluate("window.__asked") == 0
    agent.click("#notifications")
    expect(agent.locator("#notifications")).not_to_have_text("Enable notifications")
    assert agent.evaluate("window.__asked") == 1
