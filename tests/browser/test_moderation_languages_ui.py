"""The console cites a clause in the language the visitor accepted, with what governs beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect
from test_console import open_conversation, sign_in
from test_moderation_ui import select_evidence
from test_widget import accept, open_widget, say

from harness import Server
from translated import ARABIC_GOVERNS, THREATS, policies_with, translated_policies

THREAT = "I know where you work"
#: Whether an element's text ends at its option's right edge (the radio button is on the left).
RIGHT_ALIGNED = """e => {
  const range = document.createRange();
  range.selectNodeContents(e);
  const option = e.closest('label').getBoundingClientRect();
  return option.right - range.getBoundingClientRect().right < 24;
}"""


def chat(server: Server, new_page: Callable[..., Page], **visitor: str) -> tuple[Page, Page]:
    """A visitor (a page with ``visitor`` options, e.g. its locale) who accepted and threatened,
    and an agent who opened that conversation and selected the threat as evidence."""
    page = new_page(**visitor)
    open_widget(page, server)
    conversation_id = accept(page)
    say(page, THREAT)
    agent = new_page()
    sign_in(agent, server, server.add_staff("Alice Agent", "agent"))
    open_conversation(agent, conversation_id)
    select_evidence(agent, THREAT)
    return page, agent


def test_an_arabic_clause_is_shown_right_to_left_in_the_picker_and_the_citation(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
    tmp_path: Path,
) -> None:
    """Issue 16: each clause text is marked with its language and direction (Arabic: RTL)."""
    server = make_server(policies_with(tmp_path / "policies", ("conduct-v1.toml", ARABIC_GOVERNS)))
    _, agent = chat(server.start(), new_page)
    agent.click("#warn")
    option = agent.locator('#warn-dialog label.clause:has(input[value="1.2"])')
    words = option.locator(".clause-text")
    expect(words).to_have_attribute("lang", "ar")
    expect(words).to_have_attribute("dir", "rtl")
    expect(words).to_have_text("لا تهدد أحدًا بالعنف أو بأي ضرر آخر.")
    assert words.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert words.evaluate(RIGHT_ALIGNED), "right to left text starts at the right edge"
    expect(agent.locator("#warn-dialog .clause-version-label")).to_have_count(0)
    shot(agent, "warn-dialog-arabic")
    option.locator("input").check()
    agent.click("#confirm-warn")
    warning = agent.locator('#transcript [data-type="warning"]')
    quote = warning.locator(".clause-quote")
    expect(quote).to_have_attribute("lang", "ar")
    expect(quote).to_have_attribute("dir", "rtl")
    assert quote.evaluate("e => getComputedStyle(e).direction") == "rtl"
    expect(warning.locator(".governing-quote")).to_have_count(0)
    expect(warning.locator(".notice-text")).to_have_attribute("dir", "rtl")
    shot(agent, "console-warning-arabic")


def test_the_console_shows_the_german_clause_the_visitor_read_beside_the_governing_one(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
    tmp_path: Path,
) -> None:
    """Issue 16: the agent picks by id, sees the governing title and the visitor's, and both
    texts, each marked with its language; the closure shows both the same way.

    It needs the server to offer and accept a translation (A1) and the widget to ask for the
    browser's language (B).
    """
    server = make_server(translated_policies(tmp_path / "policies")).start()
    _, agent = chat(server, new_page, locale="de-DE")
    agent.click("#end-conversation")
    option = agent.locator('#close-dialog label.clause:has(input[value="1.2"])')
    expect(option.locator(".clause-head")).to_contain_text(
        "1.2 Threats and reprisals against staff"
    )
    expect(option.locator(".clause-visitor-title span")).to_have_text(THREATS["title"])
    expect(option.locator(".clause-visitor-title span")).to_have_attribute("lang", "de")
    labels = option.locator(".clause-version-label")
    expect(labels).to_have_text(["Visitor read (Deutsch): ", "Governs (English): "])
    expect(option.locator(".clause-words").first).to_have_text(THREATS["text"])
    expect(option.locator(".clause-words").nth(1)).to_have_attribute("lang", "en")
    shot(agent, "close-dialog-german")
    option.locator("input").check()
    agent.click("#confirm-close")
    closed = agent.locator('#transcript [data-type="closed"]')
    expect(closed.locator(".clause-quote")).to_have_count(2)
    expect(closed.locator(".clause-quote").first).to_have_attribute("lang", "de")
    expect(closed.locator(".clause-quote").first).to_have_text(THREATS["text"])
    expect(closed.locator(".governing-quote")).to_have_attribute("lang", "en")
    expect(closed).to_contain_text("Visitor read (Deutsch):")
    expect(closed).to_contain_text("Governs (English): 1.2 Threats and reprisals against staff")
    shot(agent, "console-closed-german")
