"""Queue and assignment in two agent consoles (two browser contexts) on one real server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from test_accessibility import check
from test_console import reply, sign_in
from test_widget import accept, open_widget, say

from harness import RedisServer, Server, two_processes


def row(page: Page, conversation_id: str) -> Locator:
    return page.locator(f'#conversations [data-conversation-id="{conversation_id}"]')


def show(page: Page, view: str) -> None:
    page.click(f'#list-filter [data-filter="{view}"]')
    expect(page.locator(f'#list-filter [data-filter="{view}"]')).to_have_attribute(
        "aria-pressed", "true"
    )


def visitor_and_two_consoles(
    new_page: Callable[..., Page],
    server: Server,
    words: str,
    alice_token: str,
    bob_token: str,
    bob_server: Server | None = None,
) -> tuple[Page, Page, Page, str]:
    """A visitor who accepted and said ``words`` (the conversation is in the queue), and the
    consoles of Alice and Bob, signed in; Bob's on ``bob_server`` if given. The pages, then
    the conversation id."""
    visitor = new_page()
    open_widget(visitor, server)
    conversation_id = accept(visitor)
    say(visitor, words)
    alice, bob = new_page(), new_page()
    sign_in(alice, server, alice_token)
    sign_in(bob, bob_server or server, bob_token)
    return visitor, alice, bob, conversation_id


def test_one_console_claims_the_other_sees_it_assigned_and_may_only_observe(
    server: Server,
    agent_token: str,
    second_agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    visitor, alice, bob, conversation_id = visitor_and_two_consoles(
        new_page, server, "Hello, is anyone there?", agent_token, second_agent_token
    )

    show(alice, "queue")
    expect(row(alice, conversation_id)).to_contain_text("In the queue")
    shot(alice, "queue")
    check(alice, "the queue view")

    row(alice, conversation_id).click()  # opening a queued conversation claims it
    expect(alice.locator("#acceptance")).to_be_visible()
    expect(alice.locator("#transfer")).to_be_visible()
    expect(alice.locator("#claim")).to_be_hidden()
    expect(alice.locator("#observing")).to_be_hidden()
    expect(alice.locator('#transcript [data-type="assigned"]')).to_contain_text(
        "Alice Agent claimed the conversation"
    )
    expect(row(alice, conversation_id)).to_be_hidden()  # no longer in the queue
    show(alice, "mine")
    expect(row(alice, conversation_id)).to_contain_text("Yours")
    listed = alice.locator("#list-filter [data-filter-count]")
    total = sum(int(n) for n in listed.all_inner_texts())
    expect(alice.locator("#conversation-count")).to_have_text(str(total))  # the views together

    show(bob, "others")
    expect(row(bob, conversation_id)).to_contain_text("With Alice Agent")
    shot(bob, "others-view")
    row(bob, conversation_id).click()
    banner = bob.locator("#observing")
    expect(banner).to_contain_text("Observing, read-only.")
    expect(banner).to_contain_text("Alice Agent is handling this conversation.")
    for control in ("#reply", "#send", "#resolve", "#warn", "#end-conversation"):
        expect(bob.locator(control)).to_be_disabled()
    expect(bob.locator("#transfer")).to_be_hidden()
    expect(bob.locator("#claim")).to_be_hidden()
    say(visitor, "My parcel never came")
    expect(bob.locator("#transcript", has_text="My parcel never came")).to_be_visible()
    reply(alice, "I am looking into it now.")
    expect(bob.locator("#transcript", has_text="I am looking into it now.")).to_be_visible()
    expect(bob.locator('#transcript [data-type="agent_joined"]')).to_have_count(1)
    shot(bob, "observing")
    check(bob, "observing a conversation another agent holds")

    alice.click("#transfer")
    expect(alice.locator("#transfer-to option", has_text="Bob Agent")).to_have_count(1)
    alice.select_option("#transfer-to", label="Bob Agent")
    shot(alice, "transfer-dialog")
    check(alice, "the transfer dialog")
    alice.click("#confirm-transfer")
    expect(alice.locator("#transfer-dialog")).to_be_hidden()
    expect(alice.locator("#observing")).to_contain_text("Bob Agent is handling this conversation.")
    expect(alice.locator("#reply")).to_be_disabled()

    expect(banner).to_be_hidden()  # Bob holds it now: his console joins, and he may reply
    expect(bob.locator('#transcript [data-type="assigned"]').last).to_contain_text(
        "Alice Agent transferred the conversation to Bob Agent"
    )
    reply(bob, "Bob here, I will take it from now.")
    expect(visitor.locator("li.msg.agent", has_text="Bob here")).to_be_visible()
    shot(bob, "after-transfer")


def test_observe_a_queued_conversation_then_claim_it(
    server: Server,
    agent_token: str,
    second_agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    _, alice, bob, conversation_id = visitor_and_two_consoles(
        new_page, server, "Just a question about sizes", agent_token, second_agent_token
    )

    bob.click(f'#conversations [data-observe="{conversation_id}"]')
    banner = bob.locator("#observing")
    expect(banner).to_contain_text("This conversation is in the queue. Claim it to reply.")
    expect(bob.locator("#transcript", has_text="Just a question about sizes")).to_be_visible()
    expect(bob.locator("#reply")).to_be_disabled()
    expect(row(alice, conversation_id)).to_contain_text("In the queue")
    shot(bob, "observing-queued")
    check(bob, "observing a queued conversation")

    bob.click("#claim")
    expect(banner).to_be_hidden()
    expect(bob.locator("#reply")).to_be_enabled()
    expect(bob.locator("#release")).to_be_visible()
    expect(row(alice, conversation_id)).to_contain_text("With Bob Agent")
    reply(bob, "Happy to help with sizes.")

    bob.click("#release")
    expect(row(alice, conversation_id)).to_contain_text("In the queue")
    expect(bob.locator("#observing")).to_contain_text("Claim it to reply.")
    expect(bob.locator("#claim")).to_be_visible()


def test_two_consoles_on_two_processes_sharing_redis_see_one_claim(
    make_server: Callable[..., Server],
    redis_server: RedisServer,
    tmp_path: Path,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    """Alice's console on process A claims; Bob's on process B sees it assigned, may only
    observe it, and sees her reply live."""
    a, b = two_processes(make_server, redis_server, tmp_path)
    alice_token, bob_token = a.add_staff("Alice on A", "agent"), b.add_staff("Bob on B", "agent")
    _, alice, bob, conversation_id = visitor_and_two_consoles(
        new_page, a, "Hello from the widget on A", alice_token, bob_token, bob_server=b
    )
    expect(row(bob, conversation_id)).to_contain_text("In the queue")

    row(alice, conversation_id).click()
    expect(alice.locator("#transfer")).to_be_visible()
    expect(row(bob, conversation_id)).to_contain_text("With Alice on A")
    row(bob, conversation_id).click()
    expect(bob.locator("#observing")).to_contain_text("Alice on A is handling this conversation.")
    expect(bob.locator("#reply")).to_be_disabled()
    reply(alice, "Alice here, from process A.")
    expect(bob.locator("#transcript", has_text="Alice here, from process A.")).to_be_visible()
    shot(bob, "observing-across-processes")
