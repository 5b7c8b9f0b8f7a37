"""Presence in a real Chromium: a visitor's page and an agent's console on one server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from test_accessibility import check
from test_console import open_conversation, sign_in
from test_widget import accept, open_widget

from harness import RedisServer, Server, two_processes

Shot = Callable[[Page, str], Path]


def alice_alone(make_server: Callable[..., Server]) -> tuple[Server, str]:
    """A server of the test's own, so that no other test's console is online, whose one agent
    is Alice Agent; the server and her token."""
    s = make_server().start()
    return s, s.add_staff("Alice Agent", "agent")


def visitor_presence(agent: Page, conversation_id: str) -> Locator:
    """The console's badge for the visitor's presence on the conversation's row."""
    return agent.locator(f'[data-conversation-id="{conversation_id}"] [data-visitor-presence]')


def test_the_widget_shows_the_team_available_away_and_nobody_online(
    make_server: Callable[..., Server], new_page: Callable[..., Page], shot: Shot
) -> None:
    """Item 1: the status line follows real presence, not just an open socket."""
    s, token = alice_alone(make_server)
    visitor = new_page()
    open_widget(visitor, s)
    status = visitor.locator("#status")
    expect(status).to_have_text("Nobody online")
    expect(visitor.locator("#away-note")).to_contain_text("Nobody from our team is online")
    shot(visitor, "gate-nobody-online")
    check(visitor, "widget: gate, nobody online")

    agent = new_page()
    sign_in(agent, s, token)
    expect(status).to_have_text("Online")
    expect(visitor.locator("#away-note")).to_be_hidden()
    expect(agent.locator("#team-list .team-member")).to_have_text(["Alice Agent Available"])
    conversation_id = accept(visitor)
    expect(status).to_have_text("Waiting for an agent")
    shot(visitor, "waiting-for-an-agent")
    expect(visitor_presence(agent, conversation_id)).to_have_text("Visitor online")

    agent.click("#availability")
    expect(agent.locator("#availability")).to_have_attribute("aria-checked", "false")
    expect(agent.locator("#my-state")).to_have_text("Away")
    expect(status).to_have_text("Away")
    expect(visitor.locator("#away")).to_be_visible()
    expect(visitor.locator("#away-title")).to_have_text("Our team is away right now")
    shot(visitor, "away")
    shot(agent, "console-away")
    check(agent, "console: agent away, team list")

    agent.click("#availability")
    expect(status).to_have_text("Waiting for an agent")
    open_conversation(agent, conversation_id)
    expect(status).to_have_text("Online")
    expect(agent.locator("#thread-sub")).to_contain_text("visitor online")

    agent.close()
    expect(status).to_have_text("Online"), "an agent joined: the chat goes on"
    visitor.close()


def test_away_mode_takes_an_email_behind_the_gate(
    make_server: Callable[..., Server], new_page: Callable[..., Page], shot: Shot
) -> None:
    """Item 4: nobody available; the visitor leaves an e-mail, the agent reads it later."""
    s, token = alice_alone(make_server)
    visitor = new_page()
    open_widget(visitor, s)
    expect(visitor.locator("#away-note")).to_be_visible()
    expect(visitor.locator("#away")).to_be_hidden(), "no e-mail before the policy is accepted"
    conversation_id = accept(visitor)
    expect(visitor.locator("#status")).to_have_text("Nobody online")
    expect(visitor.locator("#away")).to_be_visible()
    check(visitor, "widget: away mode")
    visitor.fill("#away-email", "ada@example")
    visitor.click("#away-send")
    expect(visitor.locator("#away-error")).to_contain_text("does not look like an e-mail address")
    expect(visitor.locator("#away-email")).to_be_focused()
    shot(visitor, "away-invalid-email")
    check(visitor, "widget: away mode, invalid e-mail")
    visitor.fill("#away-email", "ada@example.com")
    visitor.press("#away-email", "Enter")
    expect(visitor.locator("#away-done")).to_have_text(
        "Thank you. We will write to you at ada@example.com."
    )
    expect(visitor.locator("#away-error")).to_be_empty()
    expect(visitor.locator("li.system", has_text="You left your e-mail address")).to_be_visible()
    shot(visitor, "away-email-left")

    agent = new_page()
    sign_in(agent, s, token)
    open_conversation(agent, conversation_id)
    left = agent.locator('#transcript [data-type="contact_left"]')
    expect(left).to_contain_text("ada@example.com")
    shot(agent, "console-contact-left")
    check(agent, "console: contact left")


def test_the_widget_shows_an_offline_banner_while_the_server_is_away(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Shot,
    tolerated_errors: list[str],
) -> None:
    """Item 7: a visible banner when the line is down, gone when it is back."""
    tolerated_errors.append("net::ERR_CONNECTION_REFUSED")
    s = make_server().start()
    visitor = new_page()
    open_widget(visitor, s)
    accept(visitor)
    banner = visitor.locator("#offline-banner")
    expect(banner).to_be_hidden()
    visitor.context.set_offline(True)
    expect(banner).to_be_visible()
    visitor.context.set_offline(False)
    expect(banner).to_be_hidden()
    s.stop()
    expect(banner).to_be_visible()
    expect(banner).to_have_text(
        "You are offline. We will reconnect and send your messages as soon as we can."
    )
    shot(visitor, "offline-banner")
    check(visitor, "widget: offline banner")
    s.start()
    expect(banner).to_be_hidden(timeout=20000)
    expect(visitor.locator("#status")).to_have_text("Nobody online")


def test_the_console_shows_when_the_visitor_has_gone(
    make_server: Callable[..., Server], new_page: Callable[..., Page], shot: Shot
) -> None:
    """Item 3: a closed tab is shown as gone in the list and the conversation."""
    s, token = alice_alone(make_server)
    agent = new_page()
    sign_in(agent, s, token)
    visitor = new_page()
    open_widget(visitor, s)
    conversation_id = accept(visitor)
    badge = visitor_presence(agent, conversation_id)
    expect(badge).to_have_text("Visitor online")
    open_conversation(agent, conversation_id)
    visitor.close()
    expect(badge).to_have_text("Visitor gone")
    expect(agent.locator("#thread-sub")).to_contain_text("visitor gone")
    shot(agent, "visitor-gone")
    check(agent, "console: visitor gone")


def test_presence_crosses_processes_sharing_redis(
    make_server: Callable[..., Server],
    redis_server: RedisServer,
    tmp_path: Path,
    new_page: Callable[..., Page],
    shot: Shot,
) -> None:
    """Items 1 and 3 at scale: the widget on process A follows an agent whose console is on
    process B, and that console follows the visitor on A — online, then gone."""
    a, b = two_processes(make_server, redis_server, tmp_path)
    token = b.add_staff("Bob on B", "agent")
    visitor = new_page()
    open_widget(visitor, a)
    status = visitor.locator("#status")
    expect(status).to_have_text("Nobody online")
    conversation_id = accept(visitor)

    agent = new_page()
    sign_in(agent, b, token)
    expect(status).to_have_text("Waiting for an agent")
    badge = visitor_presence(agent, conversation_id)
    expect(badge).to_have_text("Visitor online")
    agent.click("#availability")
    expect(status).to_have_text("Away")
    shot(visitor, "away-across-processes")
    agent.click("#availability")
    expect(status).to_have_text("Waiting for an agent")

    visitor.close()
    expect(badge).to_have_text("Visitor gone")
    shot(agent, "visitor-gone-across-processes")
