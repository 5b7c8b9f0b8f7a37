"""The agent console and the widget together in a real Chromium, against a real server."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect
from test_widget import accept, open_widget, say

from harness import Server
from parley import policy_files

XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'


def sign_in(page: Page, server: Server, token: str) -> None:
    page.goto(f"{server.http}/console/")
    page.fill("#token", token)
    page.click("#sign-in")
    expect(page.locator("#agent-name")).not_to_be_empty()


def open_conversation(page: Page, conversation_id: str) -> None:
    page.click(f'#conversations [data-conversation-id="{conversation_id}"]')
    expect(page.locator("#acceptance")).to_be_visible()


def open_chat(
    server: Server, token: str, new_page: Callable[..., Page], *said: str
) -> tuple[Page, Page, str]:
    """A visitor who accepted and said each of ``said``, then an agent signed in with ``token``
    who has that conversation open: the visitor's page, the agent's, the conversation id."""
    visitor = new_page()
    open_widget(visitor, server)
    conversation_id = accept(visitor)
    for text in said:
        say(visitor, text)
    agent = new_page()
    sign_in(agent, server, token)
    open_conversation(agent, conversation_id)
    return visitor, agent, conversation_id


def reply(page: Page, text: str) -> None:
    page.fill("#reply", text)
    page.click("#send")
    expect(page.locator('#transcript [data-author-role="agent"]', has_text=text)).to_be_visible()


def end_conversation(
    page: Page, clause_id: str, note: str = "", bar: str = "", network: str = ""
) -> None:
    """Close citing ``clause_id``; ``bar``: a ``#bar-duration`` option, ``network``: a CIDR
    barred with the visitor."""
    page.click("#end-conversation")
    page.check(f'#close-dialog input[name="clause"][value="{clause_id}"]')
    if note:
        page.fill("#close-note", note)
    if bar:
        page.select_option("#bar-duration", bar)
    if network:
        page.fill("#bar-network", network)
    page.click("#confirm-close")
    expect(page.locator("#close-dialog")).to_be_hidden()


def test_visitor_and_agent_from_first_message_to_closure_citing_a_clause(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    """The whole story: gate, message seen live by the agent, reply, one-action closure,
    the visitor sees the clause, input disabled, a new conversation needs a new acceptance."""
    visitor = new_page()
    open_widget(visitor, server)
    expect(visitor.locator("#message")).to_be_disabled()
    conversation_id = accept(visitor)

    agent = new_page()
    sign_in(agent, server, agent_token)
    say(visitor, "I will find where you work if this is not fixed today")
    row = agent.locator(f'#conversations [data-conversation-id="{conversation_id}"]')
    expect(row).to_contain_text("I will find where you work")
    shot(agent, "console-list")
    open_conversation(agent, conversation_id)
    expect(agent.locator("#acceptance")).to_contain_text("v2")
    reply(agent, "I understand you are upset. Let me look at your order.")
    expect(visitor.locator("li.msg.agent", has_text="Let me look at your order")).to_be_visible()
    shot(agent, "console-transcript")

    accepted = next(v for v in policy_files.load_folder(server.policies) if v.version == 2)
    agent.click("#end-conversation")
    offered = agent.locator('#close-dialog input[name="clause"]')
    assert offered.evaluate_all("rs => rs.map(r => r.value)") == list(accepted.clauses)
    shot(agent, "console-close-dialog")
    agent.keyboard.press("Escape")
    end_conversation(agent, "1.2", "Threat against staff")

    clause = accepted.clause("1.2")
    notice = visitor.locator("#notice")
    expect(notice).to_contain_text("1.2")
    expect(notice).to_contain_text(clause.title)
    expect(visitor.locator("#notice-clause")).to_have_text(clause.text)
    expect(visitor.locator("#message")).to_be_disabled()
    expect(agent.locator("#reply")).to_be_disabled()
    shot(visitor, "closure-notice")

    visitor.click("#new-conversation")
    expect(visitor.locator("#gate")).to_be_visible()
    expect(visitor.locator("#start")).to_be_disabled()
    assert accept(visitor) != conversation_id


def test_the_console_offers_only_clauses_of_the_version_the_visitor_accepted(
    make_server: Callable[..., Server],
    policies: Path,
    tmp_path: Path,
    new_page: Callable[..., Page],
) -> None:
    """Invariant 4 in the console: a v1 conversation lists v1's clauses, even with v2 in force."""
    v1_only = tmp_path / "v1-only"
    v1_only.mkdir()
    shutil.copy(policies / "policy.schema.json", v1_only)
    shutil.copy(policies / "conduct-v1.toml", v1_only)
    data = tmp_path / "data"
    old = make_server(v1_only, data).start()
    token = old.add_staff("Alice Agent", "agent")
    visitor = new_page()
    open_widget(visitor, old)
    conversation_id = accept(visitor)
    visitor.close()
    old.stop()

    upgraded = make_server(policies, data).start()
    agent = new_page()
    sign_in(agent, upgraded, token)
    open_conversation(agent, conversation_id)
    expect(agent.locator("#acceptance")).to_contain_text("v1")
    agent.click("#end-conversation")
    v1 = next(v for v in policy_files.load_folder(v1_only))
    offered = agent.locator('#close-dialog input[name="clause"]')
    assert offered.evaluate_all("rs => rs.map(r => r.value)") == list(v1.clauses)
    assert "1.4" not in list(v1.clauses)


def test_text_from_the_network_is_never_run_as_html(
    make_server: Callable[..., Server],
    policies: Path,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    """Messages, agent names, notes and the policy text itself carry script payloads;
    none executes in the widget or the console, and each shows as literal text."""
    v2 = policies / "conduct-v2.toml"
    v2.write_text(
        v2.read_text(encoding="utf-8").replace(
            'title = "Abusive or harassing language"', f"title = '{XSS}'", 1
        ),
        encoding="utf-8",
    )
    s = make_server(policies).start()
    name = 'Eve <img src=x onerror="window.__xss=1">'  # staff names have at most 64 characters
    token = s.add_staff(name, "agent")
    visitor = new_page()
    open_widget(visitor, s)
    expect(visitor.locator("#policy-text")).to_contain_text(XSS)
    conversation_id = accept(visitor)
    say(visitor, XSS)
    agent = new_page()
    sign_in(agent, s, token)
    expect(agent.locator("#agent-name")).to_have_text(name)
    open_conversation(agent, conversation_id)
    reply(agent, XSS)
    expect(visitor.locator("li.msg.agent .who")).to_have_text(name)
    end_conversation(agent, "1.1", XSS)
    expect(visitor.locator("#notice")).to_contain_text(XSS)
    expect(agent.locator('#transcript [data-type="closed"]')).to_contain_text(XSS)
    shot(visitor, "xss-visitor")
    shot(agent, "xss-agent")
    for page in (visitor, agent):
        assert page.evaluate("window.__xss") is None, f"a payload ran on {page.url}"
        images = page.evaluate(
            "() => [document, ...[...document.querySelectorAll('*')]"
            ".filter(e => e.shadowRoot).map(e => e.shadowRoot)]"
            ".reduce((n, root) => n + root.querySelectorAll('img, script:not([src])').length, 0)"
        )
        assert images == 0, f"network text became elements on {page.url}"


def test_the_widget_reconnects_and_resumes_after_a_server_crash(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    tolerated_errors: list[str],
) -> None:
    """Invariant 6 in the browser: kill -9 the server; the widget reconnects by itself, the
    message typed while it was down is delivered exactly once, and agent replies arrive."""
    tolerated_errors.append("net::ERR_CONNECTION_REFUSED")
    s = make_server().start()
    token = s.add_staff("Alice Agent", "agent")
    compliance = s.add_staff("Carol", "compliance")
    visitor = new_page()
    open_widget(visitor, s)
    conversation_id = accept(visitor)
    say(visitor, "before the crash")
    s.kill()
    expect(visitor.locator("#status")).to_have_text("Reconnecting…")
    visitor.fill("#message", "typed while the server was down")
    visitor.press("#message", "Enter")
    expect(visitor.locator("li.msg.visitor", has_text="while the server was down")).to_contain_text(
        "Sending…"
    )
    s.start()
    expect(
        visitor.locator("li.msg.visitor[data-seq]", has_text="while the server was down")
    ).to_have_count(1, timeout=20000)
    agent = new_page()
    sign_in(agent, s, token)
    open_conversation(agent, conversation_id)
    reply(agent, "We are back.")
    expect(visitor.locator("li.msg.agent", has_text="We are back.")).to_be_visible()
    record = httpx.get(
        f"{s.http}/api/compliance/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {compliance}"},
    ).json()
    texts = [e["data"]["text"] for e in record["transcript"] if e["type"] == "message"]
    assert texts == ["before the crash", "typed while the server was down", "We are back."]
