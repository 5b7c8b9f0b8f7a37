"""Legal holds in the agent console, against a real server: the badge on a held conversation's
row and thread header comes and goes as compliance staff place and lift holds."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect
from test_accessibility import check
from test_console import open_conversation, sign_in
from test_widget import accept, open_widget

from harness import Server


def holds(server: Server, token: str, path: str, body: dict[str, str]) -> dict:
    answer = httpx.post(
        f"{server.http}/api/compliance/holds{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    answer.raise_for_status()
    return dict(answer.json()["hold"])


def test_a_held_conversation_shows_a_legal_hold_badge_until_the_hold_is_lifted(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], object],
) -> None:
    s = make_server().start()
    agent_token, clara = s.add_staff("Alice Agent", "agent"), s.add_staff("Clara", "compliance")
    visitor = new_page()
    open_widget(visitor, s)
    held_id = accept(visitor)
    other = new_page()
    open_widget(other, s)
    free_id = accept(other)

    agent = new_page()
    sign_in(agent, s, agent_token)
    row = agent.locator(f'#conversations [data-conversation-id="{held_id}"]')
    free_row = agent.locator(f'#conversations [data-conversation-id="{free_id}"]')
    expect(free_row).to_be_visible()
    open_conversation(agent, held_id)
    expect(row.locator("[data-held]")).to_have_count(0)
    expect(agent.locator("#thread-held")).to_be_hidden()

    # A visitor hold covers the conversation: both badges appear without a reload.
    record = httpx.get(
        f"{s.http}/api/compliance/conversations/{held_id}",
        headers={"Authorization": f"Bearer {clara}"},
    )
    visitor_id = record.json()["conversation"]["visitor_id"]
    body = {"scope": "visitor", "target_id": visitor_id, "reason": "Litigation hold, case 118"}
    hold = holds(s, clara, "", body)
    expect(row.locator("[data-held]")).to_have_text("Legal hold")
    expect(agent.locator("#thread-held")).to_be_visible()
    expect(agent.locator("#thread-held")).to_have_text("Legal hold")
    expect(free_row.locator("[data-held]")).to_have_count(0)
    check(agent, "console, a conversation under legal hold")
    shot(agent, "console-legal-hold")

    # Reloaded, the console reads the flag from the list and the joined conversation.
    agent.reload()
    expect(row.locator("[data-held]")).to_be_visible()
    open_conversation(agent, held_id)
    expect(agent.locator("#thread-held")).to_be_visible()

    holds(s, clara, f"/{hold['id']}/lift", {"reason": "Case settled"})
    expect(row.locator("[data-held]")).to_have_count(0)
    expect(agent.locator("#thread-held")).to_be_hidden()


def test_an_ended_conversation_under_hold_shows_the_badge_when_read(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], object],
) -> None:
    s = make_server().start()
    agent_token, clara = s.add_staff("Alice Agent", "agent"), s.add_staff("Clara", "compliance")
    visitor = new_page()
    open_widget(visitor, s)
    conversation_id = accept(visitor)
    agent = new_page()
    sign_in(agent, s, agent_token)
    open_conversation(agent, conversation_id)
    agent.click("#resolve")
    expect(agent.locator("#reply")).to_be_disabled()
    holds(s, clara, "", {"scope": "conversation", "target_id": conversation_id,
                         "reason": "Regulator's request 44"})  # fmt: skip

    agent.click("#ended-tab")
    row = agent.locator(f'#ended-rows tr[data-ended-id="{conversation_id}"]')
    row.get_by_role("button").click()
    dialog = agent.locator("#transcript-dialog")
    expect(dialog.locator("#transcript-dialog-desc")).to_contain_text(conversation_id)
    expect(dialog.locator("#transcript-held")).to_be_visible()
    expect(dialog.locator("#transcript-held")).to_have_text("Legal hold")
    check(agent, "console, an ended conversation under legal hold, read")
    shot(agent, "ended-legal-hold")
