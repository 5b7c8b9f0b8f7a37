"""Issue 16 end to end: the visitor reads, accepts and is closed in their language, from the
gate to the closure notice (and the barred notice). Real server, real Chromium, and the
acceptance read back through the compliance API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from test_console import end_conversation, open_conversation, sign_in
from test_widget import accept, open_widget
from test_widget_i18n import EDGES, catalogues, open_shop

from harness import POLICIES, Server, Shop
from parley import policy_files
from parley.domain.policy import PolicyVersion, in_force, render_notice
from translated import ARABIC, ENGLISH, policies_with

#: The policy's languages as the picker names them: each in itself.
AUTONYMS = {"en": "English", "de": "Deutsch", "fr": "français", "ar": "العربية"}
THREATS = "1.2"

#: An element's box and its first ``n`` characters': [box left, box right, text left, text right].
LINE_EDGES = """([e, n]) => {
  const range = document.createRange();
  range.setStart(e.firstChild, 0);
  range.setEnd(e.firstChild, n);
  const box = e.getBoundingClientRect(), text = range.getBoundingClientRect();
  return [box.left, box.right, text.left, text.right];
}"""


def version_in_force(folder: Path = POLICIES) -> PolicyVersion:
    """The version a server on ``folder`` offers now, with its translations."""
    version = in_force(policy_files.load_folder(folder), datetime.now(UTC))
    assert version is not None
    return version


def acceptance(server: Server, token: str, conversation_id: str) -> dict[str, Any]:
    """The acceptance as compliance reads it, with its exact text."""
    r = httpx.get(
        f"{server.http}/api/compliance/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    record: dict[str, Any] = r.json()["acceptance"]
    return record


def accepted_in(record: dict[str, Any], text: PolicyVersion, governing: PolicyVersion) -> None:
    """``record`` holds exactly ``text`` (one language of ``governing``'s version)."""
    assert (record["language"], record["sha256"], record["text"]) == (
        text.language,
        text.sha256,
        text.text,
    )
    assert record["governing_language"] == governing.language
    assert record["governing_sha256"] == governing.sha256


def close_citing_threats(
    server: Server, token: str, new_page: Callable[..., Page], conversation_id: str, bar: str = ""
) -> None:
    """An agent signed in with ``token`` ends the conversation citing clause 1.2 (``bar``: a
    ``#bar-duration`` option)."""
    agent = new_page()
    sign_in(agent, server, token)
    open_conversation(agent, conversation_id)
    end_conversation(agent, THREATS, bar=bar)


def expect_gate_in(page: Page, text: PolicyVersion) -> None:
    """The gate shows ``text``: its title and exact text, marked with its language."""
    expect(page.locator("#policy-text")).to_have_text(text.text, use_inner_text=False)
    expect(page.locator("#policy-title")).to_have_text(text.title)
    for part in ("#policy-title", "#policy-rules", "#policy-text"):
        expect(page.locator(part)).to_have_attribute("lang", text.language)
    expect(page.locator("#policy-language")).to_have_value(text.language)


def expect_closure_in(page: Page, text: PolicyVersion, conversation_id: str) -> None:
    """The closure notice is ``text``'s template filled with its clause 1.2, the clause set off
    as a quotation, both marked with ``text``'s language; the heading is the widget's."""
    clause = text.clause(THREATS)
    notice = render_notice(text.notice_template("closure"), clause, [], conversation_id)
    before, after = notice.split(clause.text)
    shown = page.locator("#notice-text")
    expect(page.locator("#notice h3")).to_have_text(catalogues()[text.language]["ended-title"])
    expect(shown).to_contain_text(before.strip())  # the template's words, the clause's title
    expect(shown).to_contain_text(after.strip())  # and its reference
    quote = page.locator("#notice-clause")
    expect(quote).to_have_text(clause.text)
    for part in (shown, quote):
        expect(part).to_have_attribute("lang", text.language)


# ---------------------------------------------------------------- German and French browsers


@pytest.mark.parametrize(("locale", "language"), [("de-DE", "de"), ("fr-FR", "fr")])
def test_the_visitor_reads_accepts_and_is_closed_in_the_browsers_language(
    server: Server,
    agent_token: str,
    compliance_token: str,
    new_page: Callable[..., Page],
    locale: str,
    language: str,
) -> None:
    """Issue 16: the gate offers the browser's language, the acceptance holds that exact text
    with the governing digest beside it, and the closure quotes the clause in it."""
    version = version_in_force()
    text = version.for_language(language)
    page = new_page(locale=locale)
    open_widget(page, server)
    expect_gate_in(page, text)
    expect(page.locator("#policy-language option")).to_have_text(
        [AUTONYMS[tag] for tag in version.languages]
    )
    conversation_id = accept(page)
    accepted_in(acceptance(server, compliance_token, conversation_id), text, version)

    close_citing_threats(server, agent_token, new_page, conversation_id)
    expect_closure_in(page, text, conversation_id)


# ---------------------------------------------------------------- Arabic, right to left


def test_an_arabic_browser_reads_right_to_left_and_is_closed_in_arabic(
    make_server: Callable[..., Server],
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
    tmp_path: Path,
) -> None:
    """Issue 16: an Arabic translation is offered to an Arabic browser, laid out right to left
    (the widget and the policy text mirrored), accepted by its own digest, and quoted on closure."""
    folder = policies_with(
        tmp_path / "policies", ("conduct-v1.toml", ENGLISH), ("conduct-v1.ar.toml", ARABIC)
    )
    version = version_in_force(folder)
    arabic = version.for_language("ar")
    server = make_server(folder).start()
    page = new_page(locale="ar")
    open_widget(page, server)
    page.click("#full-policy-toggle")
    expect_gate_in(page, arabic)
    expect(page.locator("#policy-language option")).to_have_text(["English", "العربية"])
    host = page.locator("#parley-widget")
    expect(host).to_have_attribute("lang", "ar")
    expect(host).to_have_attribute("dir", "rtl")
    expect(page.locator("#policy-text")).to_have_attribute("dir", "rtl")

    # Mirrored: the close button left of the heading, the tick right of its words, and the
    # policy's title (the text's first line too) starting at the right edge of its box.
    edges = page.evaluate(EDGES, ["header h2", "#close", "#agree", "#agree + span"])
    title, close, tick, words = edges
    assert close[1] <= title[0] and tick[0] >= words[1]
    for part in ("#policy-title", "#policy-text"):
        left, right, text_left, text_right = page.locator(part).evaluate(
            f"(e) => ({LINE_EDGES})([e, {len(arabic.title)}])"
        )
        assert right - text_right < 20 < text_left - left, f"{part} starts at the right"
    page.locator("#panel .body").evaluate("(body) => { body.scrollTop = 0; }")
    page.locator("#panel").screenshot(
        path=shot(page, "gate").with_name("widget-gate-ar-policy.png")
    )

    conversation_id = accept(page)
    compliance = server.add_staff("Carol Compliance", "compliance")
    accepted_in(acceptance(server, compliance, conversation_id), arabic, version)

    agent_token = server.add_staff("Alice Agent", "agent")
    close_citing_threats(server, agent_token, new_page, conversation_id)
    expect_closure_in(page, arabic, conversation_id)
    expect(page.locator("#notice-clause")).to_have_attribute("dir", "rtl")


# ---------------------------------------------------------------- the visitor's pick


def test_a_german_browser_picks_english_and_the_pick_survives_a_reload(
    server: Server,
    compliance_token: str,
    new_page: Callable[..., Page],
) -> None:
    """Issue 16: picking a language switches the text and the widget's words to it; it is asked
    for again after a reload, and what is accepted is that language's text."""
    version = version_in_force()
    english = catalogues()["en"]
    page = new_page(locale="de-DE")
    open_widget(page, server)
    expect_gate_in(page, version.for_language("de"))
    page.select_option("#policy-language", "en")
    expect_gate_in(page, version)
    expect(page.locator("#parley-widget")).to_have_attribute("lang", "en")
    expect(page.locator("#start")).to_have_text(english["start"])

    page.reload()
    expect(page.locator("#panel")).to_be_visible()
    expect_gate_in(page, version)
    expect(page.locator("#start")).to_have_text(english["start"])
    conversation_id = accept(page)
    accepted_in(acceptance(server, compliance_token, conversation_id), version, version)


def test_an_arabic_browser_picks_german_and_the_widget_turns_left_to_right(
    server: Server, new_page: Callable[..., Page]
) -> None:
    """An Arabic widget (the policy has no Arabic text) switches to German, text and words, and
    lays itself out left to right, when the visitor picks Deutsch."""
    german = catalogues()["de"]
    page = new_page(locale="ar")
    open_widget(page, server)
    host = page.locator("#parley-widget")
    expect(host).to_have_attribute("dir", "rtl")
    expect(page.locator("#start")).to_have_text(catalogues()["ar"]["start"])
    page.select_option("#policy-language", "de")
    expect_gate_in(page, version_in_force().for_language("de"))
    expect(host).to_have_attribute("lang", "de")
    expect(host).to_have_attribute("dir", "ltr")
    expect(page.locator("#start")).to_have_text(german["start"])
    expect(page.locator("#policy-text")).to_have_attribute("dir", "ltr")
    title, close = page.evaluate(EDGES, ["header h2", "#close"])
    assert close[0] >= title[1], "left to right again: the close button right of the heading"


def test_data_lang_asks_for_that_language_of_the_policy(
    make_server: Callable[..., Server],
    shops: Callable[..., Shop],
    new_page: Callable[..., Page],
) -> None:
    """A site's data-lang="fr" in an English browser: the server offers English (the browser's
    locale), the widget asks for French and shows it."""
    shop = shops(make_server(PARLEY_ALLOWED_ORIGINS="*").start(), 'data-lang="fr"')
    page = new_page(locale="en-US")
    sent: list[dict[str, Any]] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda f: sent.append(json.loads(f))))
    open_shop(page, shop)
    expect_gate_in(page, version_in_force().for_language("fr"))
    assert {"type": "language", "language": "fr"} in sent
    expect(page.locator("#start")).to_have_text(catalogues()["fr"]["start"])


# ---------------------------------------------------------------- the barred notice


@pytest.mark.parametrize(("bar", "message"), [("168", "barred-until"),
                                              ("permanent", "barred-permanently")])  # fmt: skip
def test_a_german_visitor_barred_by_a_closure_reads_why_in_german(
    server: Server, agent_token: str, new_page: Callable[..., Page], bar: str, message: str
) -> None:
    """Issue 16: the barred notice is the widget's sentence in the visitor's language, with the
    German clause they accepted and the reference to quote, not the frame's English message."""
    german = catalogues()["de"]
    clause = version_in_force().for_language("de").clause(THREATS)
    page = new_page(locale="de-DE")
    open_widget(page, server)
    conversation_id = accept(page)
    close_citing_threats(server, agent_token, new_page, conversation_id, bar=bar)

    barred = page.locator("#barred")
    expect(barred.locator("h3")).to_have_text(german["barred-title"])
    expect(page.locator("#barred-clause")).to_contain_text(clause.text)
    facts = {"id": THREATS, "title": clause.title, "reference": conversation_id}
    if bar != "permanent":  # the end of the bar, as the notice's last line writes it
        facts["date"] = str(page.locator("#barred-until time").text_content())
    expect(page.locator("#barred-text")).to_have_text(german[message].format(**facts))
    expect(barred).not_to_contain_text("You cannot")
