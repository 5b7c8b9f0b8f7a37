"""What the widget does with a message the server refuses: retry, or show it as not sent.

docs/protocol.md §8: after `unavailable` and `rate_limited` nothing was stored, so the same
client_id is sent again; any other refusal is final, and the visitor sees it.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, WebSocket, expect
from test_accessibility import check
from test_console import open_conversation, sign_in
from test_widget import accept, open_widget

from harness import RedisServer, Server


def transcript_texts(server: Server, token: str, conversation_id: str) -> list[str]:
    record = httpx.get(
        f"{server.http}/api/compliance/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    return [e["data"]["text"] for e in record["transcript"] if e["type"] == "message"]


def refusals(ws: WebSocket, code: str) -> list[dict[str, object]]:
    """Every error frame with ``code`` the widget receives on ``ws`` from now on."""
    seen: list[dict[str, object]] = []

    def on_frame(payload: str | bytes) -> None:
        frame = json.loads(payload)
        if frame.get("type") == "error" and frame.get("code") == code:
            seen.append(frame)

    ws.on("framereceived", on_frame)
    return seen


def open_with_socket(page: Page, server: Server) -> WebSocket:
    with page.expect_websocket() as opened:
        open_widget(page, server)
    return opened.value


def test_a_rate_limited_message_is_sent_again_after_retry_after_and_stored_once(
    make_server: Callable[..., Server], new_page: Callable[..., Page]
) -> None:
    """30 messages a minute: a burst of 33 gets `rate_limited` for the last ones, and each of
    those is resent with its client_id once `retry_after` has passed — all 33 stored once."""
    server = make_server(PARLEY_MESSAGES_PER_MINUTE="30").start()
    compliance = server.add_staff("Carol Compliance", "compliance")
    page = new_page()
    ws = open_with_socket(page, server)
    conversation_id = accept(page)
    limited = refusals(ws, "rate_limited")
    burst = [f"burst message {i}" for i in range(33)]
    page.evaluate(
        "ts => { for (const t of ts) { parley.view.input.value = t; parley.sendMessage(); } }",
        burst,
    )
    expect(page.locator("li.msg.visitor[data-seq]")).to_have_count(33, timeout=60_000)
    assert limited, "the burst went over the limit"
    expect(page.locator("li.msg.failed")).to_have_count(0)
    assert sorted(transcript_texts(server, compliance, conversation_id)) == sorted(burst)
    ids = {str(frame["client_id"]) for frame in limited}
    assert page.evaluate("parley.outbox.size") == 0
    for client_id in ids:
        expect(page.locator(f'li.msg.visitor[data-client-id="{client_id}"]')).to_have_count(1)


@pytest.fixture
def redis_db(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of this test's own, so it may be killed and restarted."""
    r = RedisServer(tmp_path / "redis").start()
    yield r
    r.stop()


def test_a_message_refused_as_unavailable_is_sent_again_when_the_store_is_back(
    make_server: Callable[..., Server],
    redis_db: RedisServer,
    new_page: Callable[..., Page],
) -> None:
    """Redis down: the message gets `unavailable`, stays *Sending…* and in the outbox; Redis
    back: the widget's own retry stores it, once."""
    server = make_server(PARLEY_STORE=redis_db.url).start()
    compliance = server.add_staff("Carol Compliance", "compliance")
    page = new_page()
    ws = open_with_socket(page, server)
    conversation_id = accept(page)
    redis_db.stop(signal.SIGKILL)
    with ws.expect_event("framereceived", lambda p: '"code":"unavailable"' in p, timeout=30_000):
        page.fill("#message", "typed while the store was away")
        page.press("#message", "Enter")
    bubble = page.locator("li.msg.visitor", has_text="typed while the store was away")
    expect(bubble.locator(".state")).to_have_text("Sending…")
    assert page.evaluate("parley.outbox.size") == 1
    redis_db.start()
    expect(bubble).to_have_attribute("data-seq", "2", timeout=60_000)
    assert transcript_texts(server, compliance, conversation_id) == [
        "typed while the store was away"
    ]


def test_a_refused_message_shows_not_sent_with_a_retry_button(
    make_server: Callable[..., Server], new_page: Callable[..., Page]
) -> None:
    """A final refusal (here `message_too_long`) takes the message out of the outbox and
    says so, in an alert, with a Retry button that sends it again under its client_id."""
    server = make_server(PARLEY_MAX_MESSAGE_CHARS="20").start()
    page = new_page()
    ws = open_with_socket(page, server)
    accept(page)
    too_long = refusals(ws, "message_too_long")
    page.fill("#message", "a message over twenty characters")
    page.press("#message", "Enter")
    failed = page.locator("li.msg.failed", has_text="a message over twenty characters")
    expect(failed).to_be_visible()
    expect(failed.locator("[role=alert]")).to_contain_text("Not sent:")
    assert page.evaluate("parley.outbox.size") == 0
    check(page, "widget: a message not sent")
    retry = failed.get_by_role("button", name="Retry")
    expect(retry).to_be_visible()
    retry.focus()
    with (
        ws.expect_event("framesent", lambda p: '"type":"message"' in p) as sent,
        ws.expect_event("framereceived", lambda p: '"code":"message_too_long"' in p),
    ):
        page.keyboard.press("Enter")
    assert json.loads(sent.value)["client_id"] == too_long[0]["client_id"]
    expect(failed.get_by_role("button", name="Retry")).to_be_visible()


def test_a_message_held_for_a_retry_is_not_sent_once_the_conversation_ends(
    make_server: Callable[..., Server], new_page: Callable[..., Page]
) -> None:
    """One message a minute: the second waits for `retry_after` (about a minute). The agent
    resolves the conversation meanwhile, so it was never stored: it shows as not sent and
    leaves the outbox, and cannot go out later into the visitor's next conversation."""
    server = make_server(PARLEY_MESSAGES_PER_MINUTE="1").start()
    token = server.add_staff("Alice Agent", "agent")
    page = new_page()
    ws = open_with_socket(page, server)
    conversation_id = accept(page)
    page.fill("#message", "the one message this minute")
    page.press("#message", "Enter")
    expect(page.locator("li.msg.visitor[data-seq]")).to_have_count(1)
    with ws.expect_event("framereceived", lambda p: '"code":"rate_limited"' in p):
        page.fill("#message", "held for a minute")
        page.press("#message", "Enter")
    held = page.locator("li.msg.visitor", has_text="held for a minute")
    expect(held.locator(".state")).to_have_text("Sending…")

    agent = new_page()
    sign_in(agent, server, token)
    open_conversation(agent, conversation_id)
    agent.click("#resolve")
    expect(page.locator("#notice")).to_contain_text("This conversation is resolved")
    expect(held.locator("[role=alert]")).to_contain_text("Not sent: the conversation has ended.")
    assert page.evaluate("parley.outbox.size") == 0
