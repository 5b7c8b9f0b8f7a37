"""A staff name of the longest allowed length fits both UIs: one line, an ellipsis, and
the whole name in the tooltip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Locator, Page, expect
from test_console import open_conversation, reply, sign_in
from test_widget import accept, open_widget

from harness import Server
from parley.domain.agent import MAX_NAME_CHARS

LONG_NAME = ("Maximiliana Wolfeschlegelsteinhausenbergerdorff " * 2)[:MAX_NAME_CHARS]

# Whether the name is cut with an ellipsis on one line, and the line it is on fits, whole,
# inside the area that holds it.
CUT = """(el, [line, area]) => {
  const row = el.closest(line), box = row.getBoundingClientRect();
  const outer = el.closest(area).getBoundingClientRect();
  return {
    ellipsis: getComputedStyle(el).textOverflow === "ellipsis" && el.scrollWidth > el.clientWidth,
    one_line: el.getBoundingClientRect().height < 30,
    fits: row.scrollWidth <= row.clientWidth && box.left >= outer.left && box.right <= outer.right,
  };
}"""


def expect_cut(name: Locator, line: str, area: str) -> None:
    expect(name).to_have_text(LONG_NAME)
    expect(name).to_have_attribute("title", LONG_NAME)
    assert name.evaluate(CUT, [line, area]) == {"ellipsis": True, "one_line": True, "fits": True}


def test_a_long_staff_name_is_cut_with_an_ellipsis_in_the_widget_and_the_console(
    server: Server, new_page: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    token = server.add_staff(LONG_NAME, "agent")
    visitor = new_page(width=360, height=640)
    open_widget(visitor, server)
    conversation_id = accept(visitor)
    agent = new_page(width=800, height=700)
    sign_in(agent, server, token)
    expect_cut(agent.locator("#agent-name .name"), ".who", ".topbar")
    open_conversation(agent, conversation_id)
    expect_cut(agent.locator('#transcript [data-type="agent_joined"] .name'), ".system", ".thread")
    reply(agent, "Hello")
    mine = agent.locator('#transcript [data-author-role="agent"] .author .name')
    expect_cut(mine, ".bubble-meta", ".bubble")
    shot(agent, "console")

    expect_cut(visitor.locator("li.system .name"), "li", "ol")
    expect_cut(visitor.locator("li.msg.agent .who .name"), "li", "ol")
    shot(visitor, "widget")
