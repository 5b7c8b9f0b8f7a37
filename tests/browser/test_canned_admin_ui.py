"""The admins' "Canned replies" view in the agent console, in a real Chromium: add, edit,
refuse a taken or malformed shortcut, delete with confirmation; agents' consoles follow live."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect
from test_accessibility import check
from test_console import open_chat, sign_in

from harness import Server


def canned_view(page: Page, server: Server, admin_token: str) -> None:
    sign_in(page, server, admin_token)
    page.click("#canned-tab")
    expect(page.locator("#canned-view")).to_be_visible()
    expect(page.locator("#canned-tab")).to_have_attribute("aria-pressed", "true")


def row(page: Page, shortcut: str) -> Locator:
    return page.locator("#canned-rows tr", has=page.locator("code", has_text=f"/{shortcut}"))


def add(page: Page, shortcut: str, text: str) -> None:
    page.fill("#canned-shortcut", shortcut)
    page.fill("#canned-text", text)
    page.click("#canned-save")


def offered(agent: Page, shortcut: str) -> Locator:
    """What the reply box offers for ``/shortcut`` (it is emptied first)."""
    agent.fill("#reply", "")
    agent.click("#reply")
    agent.keyboard.type(f"/{shortcut}")
    return agent.locator("#canned-list [role=option]")


def replies(server: Server, admin_token: str) -> list[dict[str, str]]:
    answer = httpx.get(
        f"{server.http}/api/admin/canned", headers={"Authorization": f"Bearer {admin_token}"}
    )
    answer.raise_for_status()
    return list(answer.json()["items"])


@pytest.fixture
def suffix(server: Server, admin_token: str) -> Iterator[str]:
    """Ends this test's shortcuts; its replies are deleted afterwards, because the server is
    shared and other tests count the replies a "/" offers."""
    mark = uuid.uuid4().hex[:8]
    yield mark
    for reply in replies(server, admin_token):
        if reply["shortcut"].endswith(mark):
            httpx.delete(
                f"{server.http}/api/admin/canned/{reply['id']}",
                headers={"Authorization": f"Bearer {admin_token}"},
            ).raise_for_status()


def test_an_admin_adds_edits_and_deletes_canned_replies_and_agents_follow_live(
    server: Server,
    agent_token: str,
    admin_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
    suffix: str,
) -> None:
    greet, other = f"greet-{suffix}", f"thanks-{suffix}"
    _, agent, _ = open_chat(server, agent_token, new_page, "Hello, is anyone there?")
    admin = new_page()
    canned_view(admin, server, admin_token)
    expect(admin.locator("#canned-shortcut")).to_have_accessible_name("Shortcut")
    expect(admin.locator("#canned-text")).to_have_accessible_name("Text")

    # Added: in the table at once, the form emptied and ready for the next one.
    add(admin, greet, "Hello! How can I help?")
    expect(row(admin, greet)).to_contain_text("Hello! How can I help?")
    expect(admin.locator("#canned-admin-status")).to_have_text(f"Added /{greet}.")
    expect(admin.locator("#canned-shortcut")).to_have_value("")
    expect(admin.locator("#canned-shortcut")).to_be_focused()
    add(admin, other, "Thank you for waiting.")
    expect(row(admin, other)).to_be_visible()
    shot(admin, "canned-table")
    check(admin, "console: canned replies view")

    # The agent's console, never reloaded, offers it.
    options = offered(agent, greet)
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Hello! How can I help?")
    agent.keyboard.press("Enter")
    expect(agent.locator("#reply")).to_have_value("Hello! How can I help?")

    # Edited: the form takes the reply, saving changes it everywhere and returns to its row.
    row(admin, greet).get_by_role("button", name=f"Edit /{greet}").click()
    expect(admin.locator("#canned-form-title")).to_have_text(f"Edit /{greet}")
    expect(admin.locator("#canned-shortcut")).to_be_focused()
    expect(admin.locator("#canned-shortcut")).to_have_value(greet)
    admin.fill("#canned-text", "Good day! What can I do for you?")
    admin.click("#canned-save")
    expect(row(admin, greet)).to_contain_text("Good day! What can I do for you?")
    expect(admin.locator("#canned-admin-status")).to_have_text(f"Saved /{greet}.")
    expect(row(admin, greet).get_by_role("button", name=f"Edit /{greet}")).to_be_focused()
    expect(admin.locator("#canned-form-title")).to_have_text("Add a canned reply")
    options = offered(agent, greet)
    expect(options.first).to_contain_text("Good day! What can I do for you?")
    agent.keyboard.press("Escape")

    # Cancelling an edit changes nothing and returns to the row.
    row(admin, other).get_by_role("button", name=f"Edit /{other}").click()
    admin.fill("#canned-text", "Not saved")
    admin.click("#canned-cancel-edit")
    expect(row(admin, other).get_by_role("button", name=f"Edit /{other}")).to_be_focused()
    expect(row(admin, other)).to_contain_text("Thank you for waiting.")

    # Delete asks first; Cancel keeps it, and focus goes back to its button.
    delete = row(admin, other).get_by_role("button", name=f"Delete /{other}…")
    delete.click()
    dialog = admin.locator("#canned-delete-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_name("Delete this canned reply?")
    expect(admin.locator("#canned-delete-desc")).to_contain_text(f"/{other}")
    expect(admin.locator("#cancel-canned-delete")).to_be_focused()
    shot(admin, "canned-delete-dialog")
    check(admin, "console: delete a canned reply dialog")
    admin.click("#cancel-canned-delete")
    expect(dialog).to_be_hidden()
    expect(delete).to_be_focused()
    expect(row(admin, other)).to_be_visible()

    delete.click()
    admin.click("#confirm-canned-delete")
    expect(dialog).to_be_hidden()
    expect(row(admin, other)).to_have_count(0)
    expect(admin.locator("#canned-admin-status")).to_have_text(f"Deleted /{other}.")
    expect(admin.locator("#canned-shortcut")).to_be_focused()
    assert other not in [r["shortcut"] for r in replies(server, admin_token)]
    expect(offered(agent, other)).to_have_count(0)
    expect(offered(agent, greet)).to_have_count(1)


def test_the_server_refusing_a_reply_shows_its_message_and_changes_nothing(
    server: Server,
    admin_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
    tolerated_errors: list[str],
    suffix: str,
) -> None:
    # Chromium logs each refused request; the refusals are what this test is about.
    tolerated_errors.extend(["status of 409 (Conflict)", "status of 400 (Bad Request)"])
    taken = f"taken-{suffix}"
    admin = new_page()
    canned_view(admin, server, admin_token)
    add(admin, taken, "The first one.")
    expect(row(admin, taken)).to_be_visible()
    before = replies(server, admin_token)

    add(admin, taken, "A second one.")
    error = admin.locator("#canned-error")
    expect(error).to_have_text(f"another canned reply already has the shortcut /{taken}")
    expect(error).to_have_attribute("role", "alert")
    expect(admin.locator("#canned-shortcut")).to_have_attribute("aria-invalid", "true")
    expect(admin.locator("#canned-shortcut")).to_be_focused()
    expect(admin.locator("#canned-text")).to_have_value("A second one.")  # kept, to fix
    shot(admin, "canned-shortcut-taken")
    check(admin, "console: canned reply form error")
    assert replies(server, admin_token) == before
    expect(row(admin, taken)).to_have_count(1)
    expect(row(admin, taken)).to_contain_text("The first one.")

    # Editing into a taken shortcut is refused the same way.
    second = f"second-{suffix}"
    add(admin, second, "Another.")
    expect(error).to_be_empty()  # typing cleared it, the add succeeded
    expect(row(admin, second)).to_be_visible()
    before = replies(server, admin_token)
    row(admin, second).get_by_role("button", name=f"Edit /{second}").click()
    admin.fill("#canned-shortcut", taken)
    admin.click("#canned-save")
    expect(error).to_have_text(f"another canned reply already has the shortcut /{taken}")
    assert replies(server, admin_token) == before
    admin.click("#canned-cancel-edit")

    # A malformed shortcut: the server's 400 message, nothing stored.
    count = len(replies(server, admin_token))
    add(admin, "Not Valid!", "Text.")
    expect(error).to_contain_text("$.shortcut")
    expect(error).to_contain_text("does not match")
    expect(admin.locator("#canned-shortcut")).to_have_attribute("aria-invalid", "true")
    check(admin, "console: canned reply invalid shortcut")
    assert len(replies(server, admin_token)) == count
    admin.fill("#canned-shortcut", "")
    expect(error).to_be_empty()
    expect(admin.locator("#canned-shortcut")).not_to_have_attribute("aria-invalid", "true")


def test_another_admins_change_shows_without_reloading(
    server: Server, admin_token: str, new_page: Callable[..., Page], suffix: str
) -> None:
    watching = new_page()
    canned_view(watching, server, admin_token)
    shortcut = f"live-{suffix}"
    added = httpx.post(
        f"{server.http}/api/admin/canned",
        json={"shortcut": shortcut, "text": "From elsewhere."},
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert added.status_code == 200, added.text
    expect(row(watching, shortcut)).to_contain_text("From elsewhere.")
    # Deleted elsewhere while being edited here: the form goes back to adding, and says so.
    row(watching, shortcut).get_by_role("button", name=f"Edit /{shortcut}").click()
    gone = httpx.delete(
        f"{server.http}/api/admin/canned/{added.json()['reply']['id']}",
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    assert gone.status_code == 200, gone.text
    expect(row(watching, shortcut)).to_have_count(0)
    expect(watching.locator("#canned-form-title")).to_have_text("Add a canned reply")
    expect(watching.locator("#canned-admin-status")).to_have_text(
        "The reply you were editing was deleted."
    )


def test_an_agent_has_no_canned_replies_tab(
    server: Server, agent_token: str, new_page: Callable[..., Page]
) -> None:
    agent = new_page()
    sign_in(agent, server, agent_token)
    expect(agent.locator("#ended-tab")).to_be_visible()
    expect(agent.locator("#canned-tab")).to_be_hidden()
    expect(agent.locator("#canned-view")).to_be_hidden()
