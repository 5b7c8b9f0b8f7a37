"""The console's open list, kept live by deltas, in a real Chromium against a real server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, WebSocket, WebSocketRoute, expect
from test_console import open_conversation, sign_in
from test_widget import accept, open_widget, say

from harness import Server


def record(page: Page) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every frame the page's console sends and receives, parsed."""
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []

    def watch(ws: WebSocket) -> None:
        ws.on("framesent", lambda payload: sent.append(json.loads(payload)))
        ws.on("framereceived", lambda payload: received.append(json.loads(payload)))

    page.on("websocket", watch)
    return sent, received


def items_about(received: list[dict[str, Any]], conversation_id: str) -> list[dict[str, Any]]:
    updates = [f for f in received if f["type"] == "conversation_updates"]
    return [item for f in updates for item in f["items"] if item["id"] == conversation_id]


def test_the_list_follows_deltas_new_conversations_appear_and_ended_ones_go(
    make_server: Callable[..., Server], new_page: Callable[..., Page]
) -> None:
    server = make_server().start()
    token = server.add_staff("Alice Agent", "agent")
    agent = new_page()
    sent, received = record(agent)
    sign_in(agent, server, token)
    assert [f.get("list_updates") for f in sent if f["type"] == "hello"] == ["delta"]
    expect(agent.locator("#conversations-empty")).to_be_visible()

    first, second = new_page(), new_page()
    open_widget(first, server)
    first_id = accept(first)
    row = agent.locator(f'#conversations [data-conversation-id="{first_id}"]')
    expect(row).to_contain_text("No messages yet")
    say(first, "My parcel never came.")
    expect(row).to_contain_text("My parcel never came.")
    expect(row.locator(".wait.is-waiting")).to_be_visible()
    changed = items_about(received, first_id)[-1]
    assert "visitor_id" not in changed and changed["last_message"] == "My parcel never came."

    open_widget(second, server)
    second_id = accept(second)
    expect(agent.locator("#conversations button.conv")).to_have_count(2)
    expect(agent.locator("#conversation-count")).to_have_text("2")

    open_conversation(agent, first_id)
    agent.click("#resolve")
    expect(row).to_have_count(0)
    expect(agent.locator(f'[data-conversation-id="{second_id}"]')).to_have_count(1)
    expect(agent.locator("#conversation-count")).to_have_text("1")
    expect(agent.locator("#thread-sub")).to_contain_text("resolved")
    assert items_about(received, first_id)[-1] == {"id": first_id, "state": "resolved"}


def test_a_delta_for_a_conversation_it_lacks_makes_the_console_ask_for_the_list(
    make_server: Callable[..., Server], new_page: Callable[..., Page]
) -> None:
    """Its copy missed something (it should not happen): it takes the whole list again."""
    server = make_server().start()
    token = server.add_staff("Alice Agent", "agent")
    agent = new_page()
    routes: list[WebSocketRoute] = []
    asked: list[dict[str, Any]] = []

    def forward(route: WebSocketRoute) -> None:
        upstream = route.connect_to_server()

        def to_server(message: str | bytes) -> None:
            asked.append(json.loads(message))
            upstream.send(message)

        route.on_message(to_server)
        routes.append(route)

    agent.route_web_socket("**/ws/agent", forward)
    sign_in(agent, server, token)
    visitor = new_page()
    open_widget(visitor, server)
    conversation_id = accept(visitor)
    expect(agent.locator(f'[data-conversation-id="{conversation_id}"]')).to_have_count(1)
    assert [f["type"] for f in asked] == ["hello"]
    unknown = {"id": "c_notinthelist0000000000", "last_seq": 7, "last_message": "?"}
    routes[0].send(json.dumps({"type": "conversation_updates", "items": [unknown], "flooding": []}))
    routes[0].send(json.dumps({"type": "conversation_updates", "items": [unknown], "flooding": []}))
    for _ in range(100):
        if len(asked) > 1:
            break
        agent.wait_for_timeout(20)
    agent.wait_for_timeout(300)
    assert [f["type"] for f in asked] == ["hello", "list"], "asked once, not once per delta"
    expect(agent.locator(f'[data-conversation-id="{conversation_id}"]')).to_have_count(1)
    expect(agent.locator('[data-conversation-id="c_notinthelist0000000000"]')).to_have_count(0)
