"""Bidirectional text cannot disguise what was written, in the widget or the console.

A right-to-left override (U+202E) in a message or a staff name would reverse the rest of
the line ("Refund of \u202e0001$" reads as a refund of $1000), and a right-to-left name
would pull the text after it into its run. Both UIs show such control characters as
[U+XXXX], as the evidence document does, and isolate each string (``<bdi>``).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

from playwright.sync_api import Locator, Page, expect
from test_console import open_conversation, reply, sign_in
from test_widget import accept, open_widget

from harness import Server

SPOOF = "Refund of \u202e0001$"
SHOWN = "Refund of [U+202E]0001$"

# The rendered left edge of each character of an element's text, in text order.
LEFT_EDGES = """el => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const edges = [];
  let text = "";
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (let i = 0; i < node.data.length; i++) {
      const range = document.createRange();
      range.setStart(node, i);
      range.setEnd(node, i + 1);
      edges.push(range.getBoundingClientRect().left);
    }
    text += node.data;
  }
  return [text, edges];
}"""


def left_to_right(where: Locator, part: str) -> bool:
    """Whether ``part`` of the element's text is laid out left to right, character by character."""
    text, edges = where.evaluate(LEFT_EDGES)
    start = text.index(part)
    xs = edges[start : start + len(part)]
    return all(a < b for a, b in pairwise(xs))


def test_a_right_to_left_override_is_shown_and_reorders_nothing(
    server: Server, new_page: Callable[..., Page]
) -> None:
    token = server.add_staff("Mallory\u202e", "agent")
    visitor = new_page()
    open_widget(visitor, server)
    conversation_id = accept(visitor)
    visitor.fill("#message", SPOOF)
    visitor.press("#message", "Enter")
    mine = visitor.locator("li.msg.visitor[data-seq] .text", has_text=SHOWN)
    expect(mine).to_have_text(SHOWN)
    assert left_to_right(mine, "[U+202E]0001$")

    agent = new_page()
    sign_in(agent, server, token)
    expect(agent.locator("#agent-name")).to_have_text("Mallory[U+202E]")
    row = agent.locator(f'#conversations [data-conversation-id="{conversation_id}"] .preview')
    expect(row).to_have_text(f"Visitor: {SHOWN}")
    assert left_to_right(row, "[U+202E]0001$")
    open_conversation(agent, conversation_id)
    theirs = agent.locator('#transcript [data-author-role="visitor"] .bubble-text', has_text=SHOWN)
    expect(theirs).to_have_text(SHOWN)
    assert left_to_right(theirs, "[U+202E]0001$")
    joined = agent.locator('#transcript [data-type="agent_joined"]')
    expect(joined).to_contain_text("Mallory[U+202E] joined")
    assert left_to_right(joined, "[U+202E] joined")

    seen = visitor.locator("li.system", has_text="joined the conversation")
    expect(seen).to_have_text("Mallory[U+202E] joined the conversation.")
    assert left_to_right(seen, "[U+202E] joined the conversation.")
    reply(agent, "Which order?")
    expect(visitor.locator("li.msg.agent .who > bdi")).to_have_text("Mallory[U+202E]")
    expect(visitor.locator("li.msg.agent bdi.text")).to_have_text("Which order?")


def test_a_right_to_left_name_keeps_to_itself(
    server: Server, new_page: Callable[..., Page]
) -> None:
    """Without isolation the time after a Hebrew name joins the name's right-to-left run
    and is drawn before it; isolated, it comes after."""
    token = server.add_staff("\u05e9\u05e8\u05d4", "agent")
    visitor = new_page()
    open_widget(visitor, server)
    conversation_id = accept(visitor)
    agent = new_page()
    sign_in(agent, server, token)
    open_conversation(agent, conversation_id)
    reply(agent, "Hello")
    meta = agent.locator('#transcript [data-author-role="agent"] .bubble-meta')
    text, edges = meta.evaluate(LEFT_EDGES)
    name_end = max(edges[: text.index(" · ")])
    clock = text.index(" · ") + len(" · ")
    assert min(edges[clock : clock + 5]) > name_end, text
