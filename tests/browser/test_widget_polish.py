"""The widget on a phone, across reloads, on a site the server refuses, at the gate and at a
closure; and the console's closure block and close dialog. Real Chromium, real servers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Page, expect
from test_accessibility import check
from test_console import end_conversation, open_chat, open_conversation, sign_in
from test_widget import accept, open_widget, say

from harness import Server, Shop

PHONE = (375, 740)

# Each part's box and font size, read from inside the widget's shadow root.
SIZES = """(ids) => {
  const root = document.getElementById("parley-widget").shadowRoot;
  return Object.fromEntries(ids.map((id) => {
    const el = root.getElementById(id) || root.querySelector(id);
    const r = el.getBoundingClientRect();
    return [id, [r.x, r.y, r.width, r.height, parseFloat(getComputedStyle(el).fontSize)]];
  }));
}"""


def sizes(page: Page, *ids: str) -> dict[str, list[float]]:
    return dict(page.evaluate(SIZES, list(ids)))


def focused_id(page: Page) -> str | None:
    """The id of what has focus inside the widget, from ``document.activeElement``."""
    found = page.evaluate("document.activeElement?.shadowRoot?.activeElement?.id ?? null")
    return str(found) if found is not None else None


def test_on_a_phone_the_panel_is_the_whole_screen_with_16px_inputs_and_24px_targets(
    server: Server, new_page: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    page = new_page(*PHONE)
    open_widget(page, server)
    expect(page.locator("#rules")).to_be_visible()
    assert sizes(page, "panel")["panel"][:4] == [0, 0, *PHONE]
    gate = sizes(page, "agree", "start", "close", "full-policy-toggle")
    for name, (_, _, width, height, _) in gate.items():
        assert width >= 24 and height >= 24, f"{name} is {width}x{height}, under 24 px"
    check(page, "widget: gate on a phone")
    shot(page, "phone-gate")

    accept(page)
    say(page, "from a phone")
    chat = sizes(page, "message", "send", "receipt")
    assert chat["message"][4] >= 16, "an input under 16 px makes iOS zoom in on focus"
    for name in ("send", "receipt"):
        assert chat[name][2] >= 24 and chat[name][3] >= 24, f"{name} is under 24 px"
    assert chat["send"][0] + chat["send"][2] <= PHONE[0]
    check(page, "widget: chatting on a phone")
    shot(page, "phone-chat")


def test_on_a_desktop_the_panel_stays_a_floating_card(
    server: Server, new_page: Callable[..., Page]
) -> None:
    page = new_page(1280, 800)
    open_widget(page, server)
    x, y, width, height, _ = sizes(page, "panel")["panel"]
    assert width == 380 and height == 600 and x > 0 and y > 0


def test_a_reload_keeps_the_panel_as_it_was_without_taking_the_pages_focus(
    server: Server, new_page: Callable[..., Page]
) -> None:
    page = new_page()
    open_widget(page, server)
    expect(page.locator("#rules")).to_be_focused()
    page.reload()
    expect(page.locator("#panel")).to_be_visible()
    expect(page.locator("#launcher")).to_be_hidden()
    expect(page.locator("#rules")).to_be_visible()
    assert page.evaluate("document.activeElement === document.body")
    page.click("#close")
    page.reload()
    expect(page.locator("#launcher")).to_be_visible()
    expect(page.locator("#panel")).to_be_hidden()
    expect(page.locator("#launcher")).to_have_attribute("aria-expanded", "false")


def test_on_a_site_the_server_refuses_the_widget_says_so_and_stops_retrying(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    tolerated_errors: list[str],
    shops: Callable[..., Shop],
    shot: Callable[[Page, str], Path],
) -> None:
    tolerated_errors.append("403")  # Chromium logs the refused upgrade
    s = make_server()
    allowed, refused = shops(s), shops(s)
    s.env["PARLEY_ALLOWED_ORIGINS"] = allowed.origin
    s.start()

    shop = new_page()
    shop.goto(allowed.origin)
    shop.click("#launcher")
    expect(shop.locator("#gate")).to_be_visible()  # the same embedding works where allowed

    elsewhere = new_page()
    sockets: list[str] = []
    elsewhere.on("websocket", lambda ws: sockets.append(ws.url))
    elsewhere.goto(refused.origin)
    elsewhere.click("#launcher")
    notice = elsewhere.locator("#unavailable")
    expect(notice).to_be_visible()
    expect(notice.locator("h3")).to_have_text("Chat is not available on this site")
    expect(notice).to_be_focused()
    expect(elsewhere.locator("#status")).to_have_text("Not available")
    expect(elsewhere.locator("#gate")).to_be_hidden()
    expect(elsewhere.locator("#message")).to_be_hidden()
    check(elsewhere, "widget: not available on this site")
    shot(elsewhere, "not-available")
    elsewhere.wait_for_timeout(2000)  # four times the longest first retry delay
    assert len(sockets) == 1, "a refused widget must stop retrying"
    expect(elsewhere.locator("#status")).to_have_text("Not available")


def test_the_gate_summarises_the_rules_and_the_full_text_is_what_is_accepted(
    server: Server,
    compliance_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    in_force = httpx.get(f"{server.http}/api/policy").json()
    page = new_page()
    open_widget(page, server)
    rules = page.locator("#policy-rules li")
    expect(rules).to_have_text([c["title"] for c in in_force["clauses"]])
    expect(page.locator("#policy-text")).to_be_hidden()
    expect(page.locator("#full-policy-toggle")).to_have_text("Read the full policy")
    shot(page, "gate-summary")
    page.click("#full-policy-toggle")
    expect(page.locator("#policy-text")).to_be_visible()
    expect(page.locator("#policy-text")).to_have_text(in_force["text"], use_inner_text=False)
    check(page, "widget: gate, full text open")
    shot(page, "gate-full-text")

    conversation_id = accept(page)
    record = httpx.get(
        f"{server.http}/api/compliance/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {compliance_token}"},
    ).json()["acceptance"]
    assert record["text"] == in_force["text"] and record["sha256"] == in_force["sha256"]
    assert record["affirmation"] == (
        f"Ticked “I have read and accept the Conduct Policy v{in_force['version']}” "
        "and pressed “Start chat”, having opened the full text"
    )


def test_at_a_closure_focus_moves_to_the_notice_and_the_draft_stays_copyable(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    visitor = new_page(*PHONE)
    open_widget(visitor, server)
    conversation_id = accept(visitor)
    for n in range(12):  # enough to scroll: the notice is far below the top
        say(visitor, f"line {n}.")
    draft = "Half a sentence I was still typ"
    visitor.fill("#message", draft)

    agent = new_page()
    sign_in(agent, server, agent_token)
    open_conversation(agent, conversation_id)
    end_conversation(agent, "1.1")

    notice = visitor.locator("#notice")
    expect(notice).to_be_focused()
    assert focused_id(visitor) == "notice"
    expect(notice.locator("h3")).to_be_in_viewport()
    expect(visitor.locator("#draft-text")).to_have_value(draft)
    expect(visitor.locator("#draft-text")).to_be_editable(editable=False)
    expect(visitor.locator("#draft-text")).to_be_enabled()  # selectable, copyable
    expect(visitor.locator("#message")).to_be_disabled()
    expect(visitor.locator("#message")).to_have_value("")
    assert sizes(visitor, "draft-text")["draft-text"][4] >= 16
    check(visitor, "widget: closed, with the draft kept")
    shot(visitor, "closed-with-draft")

    visitor.click("#new-conversation")
    accept(visitor)
    expect(visitor.locator("#draft")).to_be_hidden()


def test_a_barred_visitor_reads_the_time_in_their_own_zone_and_the_agent_sees_the_bar(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    s = make_server().start()
    agent_token = s.add_staff("Alice Agent", "agent")
    admin_token = s.add_staff("Dan Admin", "admin")
    visitor = new_page()
    cdp = visitor.context.new_cdp_session(visitor)
    cdp.send("Emulation.setTimezoneOverride", {"timezoneId": "Asia/Tokyo"})
    cdp.send("Emulation.setLocaleOverride", {"locale": "en-GB"})
    open_widget(visitor, s)
    conversation_id = accept(visitor)

    agent = new_page()
    sign_in(agent, s, agent_token)
    open_conversation(agent, conversation_id)
    end_conversation(agent, "1.2", bar="168", network="192.0.2.0/24")
    (ban,) = httpx.get(
        f"{s.http}/api/admin/bans", headers={"Authorization": f"Bearer {admin_token}"}
    ).json()["items"]
    until = ban["until"]

    # The agent's closure block names the bar: whom it keeps out, and until when.
    placed = agent.locator(".closed-block .bar-placed")
    expect(placed).to_contain_text("Bar placed: the visitor and the network 192.0.2.0/24, until")
    expect(placed).to_contain_text(f"({until[:16].replace('T', ' ')} UTC)")
    check(agent, "console: closure block with its bar")
    shot(agent, "closure-block-with-bar")

    # The visitor reads it in Tokyo time, in words; the server's message is unchanged for others.
    tokyo = datetime.fromisoformat(until).astimezone(ZoneInfo("Asia/Tokyo"))
    when = visitor.locator("#barred-until time")
    expect(when).to_have_attribute("datetime", until)
    expect(when).to_contain_text(f"{tokyo:%A}, {tokyo.day} {tokyo:%B %Y}")
    expect(when).to_contain_text(f"{tokyo:%H:%M} GMT+9")
    text = visitor.locator("#barred-text")
    expect(text).to_contain_text(f"You cannot start a conversation until {tokyo:%A}")
    expect(visitor.locator("#barred")).not_to_contain_text(until[:16])
    check(visitor, "widget: barred, local time")
    shot(visitor, "barred-local-time")


def test_a_permanent_bar_is_named_so_in_the_closure_block(
    server: Server, agent_token: str, new_page: Callable[..., Page]
) -> None:
    visitor, agent, _ = open_chat(server, agent_token, new_page)
    end_conversation(agent, "1.2", bar="permanent")
    expect(agent.locator(".closed-block .bar-placed")).to_have_text(
        "Bar placed: the visitor, permanently."
    )
    expect(visitor.locator("#barred-until")).to_have_text("This applies permanently.")


def test_the_agent_closes_by_keyboard_clause_note_confirm(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
) -> None:
    visitor, agent, _ = open_chat(server, agent_token, new_page)
    agent.focus("#end-conversation")

    keys = 0

    def press(key: str) -> None:
        nonlocal keys
        keys += 1
        agent.keyboard.press(key)

    press("Enter")
    first = agent.locator('#close-dialog input[name="clause"]').first
    expect(first).to_be_focused()
    press("ArrowDown")  # the second clause, chosen
    expect(agent.locator('#close-dialog input[name="clause"][value="1.2"]')).to_be_checked()
    press("Tab")
    expect(agent.locator("#close-note")).to_be_focused()
    agent.keyboard.type("Threats after a warning.")
    shot(agent, "close-dialog-keyboard")
    press("Control+Enter")
    expect(agent.locator("#close-dialog")).to_be_hidden()
    assert keys == 4, "open, clause, note, confirm"
    block = agent.locator(".closed-block")
    expect(block).to_contain_text("citing clause 1.2")
    expect(block).to_contain_text("Threats after a warning.")
    expect(block.locator(".bar-placed")).to_have_count(0)  # no bar, none named
    expect(visitor.locator("#notice")).to_contain_text("Threats after a warning.")


def test_a_closure_leaves_focus_where_the_visitor_is_on_the_page(
    server: Server, agent_token: str, new_page: Callable[..., Page]
) -> None:
    """Focus moves to the notice only from the widget (or the body it fell to), never from the
    page the visitor went on reading."""
    visitor = new_page()
    open_widget(visitor, server)
    conversation_id = accept(visitor)
    visitor.locator('nav a[href="#returns"]').focus()
    agent = new_page()
    sign_in(agent, server, agent_token)
    open_conversation(agent, conversation_id)
    end_conversation(agent, "1.1")
    expect(visitor.locator("#notice")).to_be_visible()
    expect(visitor.locator('nav a[href="#returns"]')).to_be_focused()
