"""Warnings and closures that quote the visitor's messages: the console, the widget, the record."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from test_console import XSS, open_conversation, sign_in
from test_widget import accept, open_widget, say

from harness import Server
from parley import policy_files

POLITE = "Hello, my order #1042 has not arrived."
SHOUT = "HELLO??? ANYONE THERE???"
FLOOD = f"ANSWER ME RIGHT NOW!!!! {XSS}"
THREAT = "I know where you work and I will find you"


def visitor_seq(page: Page, text: str) -> int:
    """The seq of the visitor's own message, as the widget knows it."""
    node = page.locator("li.msg.visitor[data-seq]", has_text=text)
    return int(node.get_attribute("data-seq") or 0)


def select_evidence(agent: Page, text: str) -> None:
    bubble = agent.locator('#transcript [data-author-role="visitor"]', has_text=text)
    bubble.get_by_label("Select as evidence").check()


def test_a_warning_and_a_closure_quote_the_messages_the_agent_selected(
    server: Server,
    agent_token: str,
    compliance_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    accepted = next(v for v in policy_files.load_folder(server.policies) if v.version == 2)
    visitor = new_page()
    open_widget(visitor, server)
    conversation_id = accept(visitor)
    for text in (POLITE, SHOUT, FLOOD):
        say(visitor, text)
    shout_seq, flood_seq = visitor_seq(visitor, SHOUT), visitor_seq(visitor, FLOOD)

    agent = new_page()
    sign_in(agent, server, agent_token)
    open_conversation(agent, conversation_id)
    expect(agent.locator("#transcript input[data-select-seq]")).to_have_count(3)
    select_evidence(agent, SHOUT)
    select_evidence(agent, FLOOD)
    expect(agent.locator("#selection")).to_have_text(
        "2 messages selected as evidence Clear selection"
    )

    # Warn citing 4.1: the dialog offers the accepted version's clauses and shows the quotes.
    agent.click("#warn")
    offered = agent.locator('#warn-dialog input[name="warn-clause"]')
    assert offered.evaluate_all("rs => rs.map(r => r.value)") == list(accepted.clauses)
    cited = agent.locator("#warn-cited")
    expect(cited).to_contain_text("Messages cited: 2")
    expect(cited.locator("li")).to_have_text([f"#{shout_seq} {SHOUT}", f"#{flood_seq} {FLOOD}"])
    expect(agent.locator("#confirm-warn")).to_be_disabled()
    agent.check('#warn-dialog input[name="warn-clause"][value="4.1"]')
    agent.fill("#warn-note", "Please write one message at a time.")
    shot(agent, "warn-dialog")
    agent.click("#confirm-warn")
    expect(agent.locator("#warn-dialog")).to_be_hidden()

    flooding = accepted.clause("4.1")
    warning = agent.locator('#transcript [data-type="warning"]')
    expect(warning).to_contain_text(f"warned the visitor citing clause 4.1 — {flooding.title}")
    expect(warning.locator(".quoted-list li")).to_have_text(
        [f"#{shout_seq} {SHOUT}", f"#{flood_seq} {FLOOD}"]
    )
    expect(warning).to_contain_text("Please write one message at a time.")
    expect(agent.locator("#selection")).to_be_hidden()
    expect(agent.locator("#transcript input[data-select-seq]:checked")).to_have_count(0)
    expect(agent.locator("#reply")).to_be_enabled()
    shot(agent, "console-warning")

    # The visitor sees the notice, with the clause and both quotes; the chat stays open.
    notice = visitor.locator("li.warning")
    expect(notice).to_be_visible()
    expect(notice.locator("blockquote")).to_have_text(flooding.text)
    expect(notice).to_contain_text(f"“{SHOUT}”")
    expect(notice).to_contain_text(f"“{FLOOD}”")
    expect(notice).to_contain_text("Note from our team: Please write one message at a time.")
    expect(notice).not_to_contain_text(POLITE)
    shot(visitor, "warning-notice")
    expect(visitor.locator("#message")).to_be_enabled()
    say(visitor, THREAT)
    threat_seq = visitor_seq(visitor, THREAT)

    # End the conversation citing 1.2, quoting the threat only.
    select_evidence(agent, THREAT)
    agent.click("#end-conversation")
    cited = agent.locator("#close-cited")
    expect(cited).to_contain_text("Messages cited: 1")
    expect(cited.locator("li")).to_have_text([f"#{threat_seq} {THREAT}"])
    agent.check('#close-dialog input[name="clause"][value="1.2"]')
    shot(agent, "close-dialog")
    agent.click("#confirm-close")
    expect(agent.locator("#close-dialog")).to_be_hidden()

    threats = accepted.clause("1.2")
    closed = agent.locator('#transcript [data-type="closed"]')
    expect(closed.locator(".quoted-list li")).to_have_text([f"#{threat_seq} {THREAT}"])
    expect(agent.locator("#transcript input[data-select-seq]:visible")).to_have_count(0)
    expect(agent.locator("#warn")).to_be_disabled()
    shot(agent, "console-closed")

    text = visitor.locator("#notice-text")
    expect(visitor.locator("#notice")).to_contain_text("This conversation has ended")
    expect(visitor.locator("#notice")).to_contain_text("1.2")
    expect(visitor.locator("#notice")).to_contain_text(threats.title)
    expect(visitor.locator("#notice-clause")).to_have_text(threats.text)
    expect(text).to_contain_text(f"“{THREAT}”")
    expect(text).to_contain_text(conversation_id)
    expect(text).not_to_contain_text(SHOUT)
    expect(visitor.locator("#notice")).not_to_contain_text("null")
    expect(visitor.locator("#message")).to_be_disabled()
    shot(visitor, "closure-notice")
    visitor.locator("#notice h3").scroll_into_view_if_needed()
    shot(visitor, "closure-notice-top")

    record = httpx.get(
        f"{server.http}/api/compliance/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {compliance_token}"},
    ).json()
    assert record["closure"]["data"]["clause"]["id"] == "1.2"
    assert record["closure"]["data"]["messages"] == [{"seq": threat_seq, "text": THREAT}]
    (warned,) = [e for e in record["transcript"] if e["type"] == "warning"]
    assert warned["data"]["messages"] == [
        {"seq": shout_seq, "text": SHOUT},
        {"seq": flood_seq, "text": FLOOD},
    ]
    assert record["chain"]["intact"]
    for page in (visitor, agent):
        assert page.evaluate("window.__xss") is None, f"a quoted payload ran on {page.url}"


def test_a_refused_quotation_is_explained_in_the_dialog_and_records_nothing(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    """Only the visitor's messages can be quoted: the server's bad_evidence reaches the agent."""
    server = make_server().start()  # its own, so as not to spend the shared server's rate budget
    agent_token = server.add_staff("Alice Agent", "agent")
    compliance_token = server.add_staff("Carol Compliance", "compliance")
    visitor = new_page()
    open_widget(visitor, server)
    conversation_id = accept(visitor)
    say(visitor, POLITE)
    agent = new_page()
    sign_in(agent, server, agent_token)
    open_conversation(agent, conversation_id)
    # Point a checkbox at the acceptance (seq 1), as a stale or tampered page might.
    box = agent.locator("#transcript input[data-select-seq]")
    box.evaluate("b => b.setAttribute('data-select-seq', '1')")
    box.check()
    before = httpx.get(
        f"{server.http}/api/compliance/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {compliance_token}"},
    ).json()["transcript"]

    agent.click("#warn")
    agent.check('#warn-dialog input[name="warn-clause"][value="1.1"]')
    agent.click("#confirm-warn")
    expect(agent.locator("#warn-error")).to_contain_text("not a message")
    expect(agent.locator("#warn-dialog")).to_be_visible()
    expect(agent.locator("#confirm-warn")).to_be_enabled()
    shot(agent, "bad-evidence")
    agent.click("#cancel-warn")

    agent.click("#end-conversation")
    agent.check('#close-dialog input[name="clause"][value="1.1"]')
    agent.click("#confirm-close")
    expect(agent.locator("#close-error")).to_contain_text("not a message")
    agent.click("#cancel-close")

    after = httpx.get(
        f"{server.http}/api/compliance/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {compliance_token}"},
    ).json()["transcript"]
    assert after == before
    expect(visitor.locator("#message")).to_be_enabled()
    expect(visitor.locator("li.warning")).to_have_count(0)
