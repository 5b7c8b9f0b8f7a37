"""The visitor's widget in a real Chromium against a real server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from harness import Server


def open_widget(page: Page, server: Server) -> None:
    page.goto(f"{server.http}/")
    page.click("#launcher")


def accept(page: Page) -> str:
    page.check("#agree")
    page.click("#start")
    expect(page.locator("#receipt")).to_be_visible()
    return str(page.evaluate("window.parley.conversation.id"))


def say(page: Page, text: str) -> None:
    page.fill("#message", text)
    page.press("#message", "Enter")
    expect(page.locator("li.msg.visitor[data-seq]", has_text=text)).to_have_count(1)


def test_the_gate_shows_the_exact_text_and_needs_an_explicit_tick(
    server: Server, new_page: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    """Invariants 1 and 2 in the browser: no typing before an explicit, informed acceptance."""
    page = new_page()
    open_widget(page, server)
    in_force = httpx.get(f"{server.http}/api/policy").json()
    expect(page.locator("#policy-text")).to_have_text(in_force["text"], use_inner_text=False)
    expect(page.locator("#agree + span")).to_have_text(
        f"I have read and accept the Conduct Policy v{in_force['version']}"
    )
    expect(page.locator("#message")).to_be_disabled()
    expect(page.locator("#start")).to_be_disabled()
    shot(page, "gate")
    page.check("#agree")
    expect(page.locator("#start")).to_be_enabled()
    page.uncheck("#agree")
    expect(page.locator("#start")).to_be_disabled()
    page.check("#agree")
    page.click("#start")
    expect(page.locator("#message")).to_be_enabled()
    expect(page.locator("#log")).to_contain_text(f"Chat Conduct Policy v{in_force['version']}")
    say(page, "Hello, my parcel has not arrived.")
    shot(page, "chatting")


def test_the_receipt_is_the_exact_accepted_text(
    server: Server, new_page: Callable[..., Page]
) -> None:
    page = new_page()
    open_widget(page, server)
    accept(page)
    with page.expect_download() as download:
        page.click("#receipt")
    receipt = Path(download.value.path()).read_text(encoding="utf-8")
    in_force = httpx.get(f"{server.http}/api/policy").json()
    assert receipt.endswith("\n\n" + in_force["text"])
    assert f"SHA-256: {in_force['sha256']}" in receipt


def test_a_reload_keeps_the_conversation_without_duplicates(
    server: Server, new_page: Callable[..., Page]
) -> None:
    page = new_page()
    open_widget(page, server)
    conversation_id = accept(page)
    say(page, "first message")
    say(page, "second message")
    page.reload()
    expect(page.locator("#panel")).to_be_visible()  # open before the reload, open after it
    expect(page.locator("li.msg.visitor[data-seq]")).to_have_count(2)
    expect(page.locator("#gate")).to_be_hidden()
    assert page.evaluate("window.parley.conversation.id") == conversation_id
    say(page, "third message, after the reload")


def test_keyboard_only_visitor_flow(server: Server, new_page: Callable[..., Page]) -> None:
    """Open, read, tick, start, type and send without a mouse; Escape closes."""
    page = new_page()
    page.goto(f"{server.http}/")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement?.shadowRoot?.activeElement?.id") == "launcher":
            break
    else:
        raise AssertionError("the launcher is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#panel")).to_be_visible()
    expect(page.locator("#rules")).to_be_focused()  # the key rules, read first
    page.keyboard.press("Tab")
    expect(page.locator("#full-policy-toggle")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#policy-text")).to_be_visible()
    page.keyboard.press("Tab")  # the full text scrolls with the keyboard
    expect(page.locator("#policy-text")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.locator("#agree")).to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_be_focused()
    page.keyboard.type("typed without a mouse")
    page.keyboard.press("Enter")
    sent = page.locator("li.msg.visitor[data-seq]", has_text="typed without a mouse")
    expect(sent).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#panel")).to_be_hidden()
    expect(page.locator("#launcher")).to_be_focused()


def test_usable_at_360_pixels_wide(
    server: Server, new_page: Callable[..., Page], shot: Callable[[Page, str], Path]
) -> None:
    page = new_page(width=360, height=640)
    open_widget(page, server)
    box = page.locator("#panel").bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    accept(page)
    say(page, "small screen")
    composer = page.locator("#send").bounding_box()
    assert composer is not None and composer["x"] + composer["width"] <= 360
    shot(page, "narrow")


def test_host_page_css_cannot_reach_the_widget(
    server: Server, new_page: Callable[..., Page]
) -> None:
    """The demo page forces Comic Sans and red text on every button; the Shadow DOM keeps it out."""
    page = new_page()
    open_widget(page, server)
    style = page.locator("#start").evaluate(
        "b => [getComputedStyle(b).fontFamily, getComputedStyle(b).color]"
    )
    assert "Comic Sans" not in style[0]
    assert style[1] == "rgb(255, 255, 255)"


def test_the_affirmative_act_is_recorded_with_the_acceptance(
    server: Server, compliance_token: str, new_page: Callable[..., Page]
) -> None:
    """The record says what the visitor did: ticked the labelled box and pressed Start."""
    page = new_page()
    open_widget(page, server)
    conversation_id = accept(page)
    record = httpx.get(
        f"{server.http}/api/compliance/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {compliance_token}"},
    ).json()["acceptance"]
    assert record["affirmation"] == (
        "Ticked “I have read and accept the Conduct Policy v2” and pressed “Start chat”, "
        "shown the key rules, the full text one click away"
    )
    assert record["time_zone"] and record["widget_build"].startswith("parley-widget/")


def test_a_client_id_with_dots_and_colons_finds_its_own_bubble(
    server: Server, new_page: Callable[..., Page]
) -> None:
    """Client ids may hold `.` and `:` (protocol §1); the widget escapes them with the real
    CSS.escape, so the acknowledged event replaces the pending bubble instead of doubling it."""
    page = new_page()
    page.add_init_script("let n = 0; crypto.randomUUID = () => `m.${++n}:x`;")
    open_widget(page, server)
    accept(page)
    say(page, "an id that needs escaping")
    mine = page.locator("li.msg.visitor")
    expect(mine).to_have_count(1)
    expect(mine).to_have_attribute("data-client-id", "m.1:x")
    expect(mine.locator(".state")).not_to_have_text("Sending…")


HOSTILE = {
    "all-unset": "* { all: unset }",
    "huge-text": "* { font-size: 44px !important }",
    "relative-divs": "div { position: relative !important }",
    "more": "div { display: none !important }\n"
    "* { direction: rtl !important; color: red !important }",
}

# Where the widget's parts are and how their text is set, read from inside its shadow root.
LAYOUT = """() => {
  const root = document.getElementById("parley-widget").shadowRoot;
  const part = (id) => {
    const el = root.getElementById(id);
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return [id, Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height),
      s.fontSize, s.fontFamily, s.lineHeight, s.color];
  };
  return ["launcher", "panel", "policy-text", "agree", "start", "close", "status"].map(part);
}"""


def widget_layout(page: Page, server: Server, hostile: str | None) -> list[list[object]]:
    """The launcher closed (where and how big), then the panel open on the policy gate."""
    page.goto(f"{server.http}/")
    if hostile:  # a constructed sheet: the demo page's CSP refuses inline <style>
        page.evaluate(
            "css => { const s = new CSSStyleSheet(); s.replaceSync(css);"
            " document.adoptedStyleSheets = [...document.adoptedStyleSheets, s]; }",
            hostile,
        )
    expect(page.locator("#launcher")).to_be_visible()
    closed = page.evaluate(LAYOUT)[0]
    page.click("#launcher")
    expect(page.locator("#policy-text")).not_to_be_empty()
    return [closed, *page.evaluate(LAYOUT)[1:]]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_host_page_css_cannot_move_or_resize_the_widget(
    server: Server, new_page: Callable[..., Page], shot: Callable[[Page, str], Path], name: str
) -> None:
    """docs/widget.md promises the page's CSS cannot break the widget: rules that match the
    host element itself leave the launcher bottom-right at its size and font, the panel on
    screen and every text its size."""
    expected = widget_layout(new_page(), server, None)
    launcher = expected[0]
    assert launcher[1] + launcher[3] == 1280 - 16 and launcher[2] + launcher[4] == 800 - 16
    assert expected[2][8] == "rgb(31, 35, 40)", "the policy text is in the widget's own colour"
    page = new_page()
    assert widget_layout(page, server, HOSTILE[name]) == expected
    shot(page, name)
