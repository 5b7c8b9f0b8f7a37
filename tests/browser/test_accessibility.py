"""axe-core on every state of the widget and the console: no critical or serious violation.

axe-core runs in the page and walks open shadow roots, so it checks the widget's
Shadow DOM as well as the host page.
"""

from __future__ import annotations

from collections.abc import Callable

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from test_console import open_conversation, reply, sign_in
from test_widget import accept, open_widget, say

from harness import Server

AXE = Axe()
BLOCKING = ("critical", "serious")


def blocking_violations(page: Page) -> list[str]:
    """Each critical or serious axe-core violation on ``page``, with the elements it names."""
    found = AXE.run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in found
        if v["impact"] in BLOCKING
    ]


def check(page: Page, state: str) -> None:
    assert blocking_violations(page) == [], f"axe-core, {state}"


def end(agent: Page, clause_id: str, bar: bool) -> None:
    agent.click("#end-conversation")
    agent.check(f'#close-dialog input[name="clause"][value="{clause_id}"]')
    if bar:
        agent.select_option("#bar-duration", "168")
    agent.click("#confirm-close")
    expect(agent.locator("#close-dialog")).to_be_hidden()


def test_every_widget_and_console_state_passes_axe(
    make_server: Callable[..., Server], new_page: Callable[..., Page]
) -> None:
    s = make_server().start()
    agent_token = s.add_staff("Alice Agent", "agent")
    admin_token = s.add_staff("Dan Admin", "admin")

    visitor = new_page()
    visitor.goto(f"{s.http}/")
    expect(visitor.locator("#launcher")).to_be_visible()
    check(visitor, "widget: launcher")
    open_widget(visitor, s)
    expect(visitor.locator("#policy-text")).not_to_be_empty()
    check(visitor, "widget: policy gate")
    first = accept(visitor)
    say(visitor, "Hello, my parcel has not arrived.")

    agent = new_page()
    agent.goto(f"{s.http}/console/")
    check(agent, "console: sign-in")
    sign_in(agent, s, agent_token)
    expect(agent.locator(f'#conversations [data-conversation-id="{first}"]')).to_be_visible()
    check(agent, "console: conversation list")
    open_conversation(agent, first)
    reply(agent, "Sorry to hear that; let me look.")
    expect(visitor.locator("li.msg.agent")).to_be_visible()
    check(visitor, "widget: chatting")
    check(agent, "console: transcript")

    agent.click("#warn")
    agent.check('#warn-dialog input[name="warn-clause"][value="4.1"]')
    check(agent, "console: warn dialog")
    agent.click("#confirm-warn")
    expect(visitor.locator("li.warning")).to_be_visible()
    check(visitor, "widget: warned")
    agent.click("#end-conversation")
    agent.check('#close-dialog input[name="clause"][value="1.1"]')
    check(agent, "console: close dialog")
    agent.keyboard.press("Escape")
    end(agent, "1.1", bar=False)
    expect(visitor.locator("#new-conversation")).to_be_visible()
    check(visitor, "widget: closed")
    check(agent, "console: closed transcript")

    visitor.click("#new-conversation")
    second = accept(visitor)
    open_conversation(agent, second)
    end(agent, "1.2", bar=True)
    expect(visitor.locator("#barred")).to_be_visible()
    check(visitor, "widget: barred")

    admin = new_page()
    sign_in(admin, s, admin_token)
    admin.click("#bans-tab")
    expect(admin.locator("#bans-rows tr")).to_have_count(1)
    check(admin, "console: bars")
    admin.locator("[data-lift]").click()
    expect(admin.locator("#lift-dialog")).to_be_visible()
    check(admin, "console: lift dialog")
