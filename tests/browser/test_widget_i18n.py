"""The widget in the visitor's language: its catalogues, the language it picks, right-to-left
layout, and a site's own words. Real Chromium against a real server."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect
from test_accessibility import check
from test_console import open_conversation, reply, sign_in
from test_widget import accept, open_widget, say

from harness import REPO, Server, Shop

WIDGET = REPO / "widget" / "widget.js"
SHIPPED = {"en", "de", "fr", "es", "ar", "he"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def catalogues() -> dict[str, dict[str, str]]:
    """The message catalogues inside widget.js, read as the JSON they are kept as."""
    source = WIDGET.read_text(encoding="utf-8")
    begin, end = "/* catalogues: begin */", "/* catalogues: end */"
    found: dict[str, dict[str, str]] = json.loads(
        source[source.index(begin) + len(begin) : source.index(end)]
    )
    return found


def test_every_catalogue_has_exactly_the_english_messages_and_placeholders() -> None:
    found = catalogues()
    assert set(found) >= SHIPPED
    english = found["en"]
    for language, messages in found.items():
        assert sorted(messages) == sorted(english), f"{language}: not the messages of en"
        for key, text in messages.items():
            assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(english[key])), (
                f"{language}: {key} has other placeholders than en"
            )
            assert text.strip(), f"{language}: {key} is empty"


# Each box, read from inside the widget's shadow root: [left, right].
EDGES = """(selectors) => {
  const root = document.getElementById("parley-widget").shadowRoot;
  return selectors.map((s) => {
    const r = root.querySelector(s).getBoundingClientRect();
    return [r.left, r.right];
  });
}"""

# The effective date of v2 (2026-09-01), as each language writes it.
EFFECTIVE = {"de": "1. September 2026", "fr": "1 septembre 2026", "ar": "سبتمبر", "he": "בספטמבר"}


@pytest.mark.parametrize(
    ("locale", "language"), [("de-DE", "de"), ("fr-FR", "fr"), ("ar", "ar"), ("he-IL", "he")]
)
def test_the_widget_speaks_the_browsers_language_and_mirrors_for_arabic(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    tmp_path: Path,
    locale: str,
    language: str,
) -> None:
    words = catalogues()[language]
    rtl = language in ("ar", "he")
    page = new_page(locale=locale)
    open_widget(page, server)
    in_force = httpx.get(f"{server.http}/api/policy").json()
    host = page.locator("#parley-widget")
    expect(host).to_have_attribute("lang", language)
    expect(host).to_have_attribute("dir", "rtl" if rtl else "ltr")
    expect(page.locator("#panel h2")).to_have_text(words["title"])
    expect(page.locator("#close")).to_have_attribute("aria-label", words["close"])
    expect(page.locator("#rules-title")).to_have_text(words["rules-title"])
    expect(page.locator("#full-policy-toggle")).to_have_text(words["read-full"])
    expect(page.locator("#start")).to_have_text(words["start"])
    expect(page.locator("#agree + span")).to_have_text(
        words["agree"].replace("{version}", str(in_force["version"]))
    )
    assert in_force["effective"].startswith("2026-09-01")
    expect(page.locator("#policy-meta")).to_contain_text(EFFECTIVE[language])
    # The policy's words carry the policy's language, whatever the widget's: there is no Arabic
    # or Hebrew text of it, so in those widgets it is English and reads left to right.
    offered = page.evaluate("window.parley.policy.language || 'en'")
    assert offered not in ("ar", "he")
    for part in ("#policy-text", "#policy-title", "#policy-rules"):
        expect(page.locator(part)).to_have_attribute("lang", offered)
        expect(page.locator(part)).to_have_attribute("dir", "ltr")
    page.locator("#panel .body").evaluate("(body) => { body.scrollTop = 0; }")
    page.locator("#panel").screenshot(path=tmp_path / f"widget-gate-{language}.png")
    check(page, f"widget: the gate in {language}")

    conversation_id = accept(page)
    expect(page.locator("#send")).to_have_text(words["send"])
    expect(page.locator("#message")).to_have_attribute("placeholder", words["placeholder"])
    expect(page.locator("#log li.system").first).to_contain_text(
        words["accepted"].split("{")[0].strip()
    )
    say(page, "Hallo, wo ist mein Paket?")
    console = new_page()
    sign_in(console, server, agent_token)
    open_conversation(console, conversation_id)
    reply(console, "Let me check.")
    expect(page.locator("li.msg.agent", has_text="Let me check.")).to_be_visible()
    page.locator("#panel").screenshot(path=tmp_path / f"widget-chat-{language}.png")
    check(page, f"widget: chatting in {language}")

    log, own, agents, message, send, title, close = page.evaluate(
        EDGES,
        ["#log", "li.msg.visitor", "li.msg.agent", "#message", "#send", "header h2", "#close"],
    )
    start, end = (1, 0) if rtl else (0, 1)  # the edge a line starts from, and the one it ends at
    # The visitor's bubbles sit at the end of the line (right in German, left in Arabic), the
    # agent's at its start; the send button follows the message box, the close button the heading.
    assert own[end] == pytest.approx(log[end], abs=1)
    assert agents[start] == pytest.approx(log[start], abs=1)
    assert (send[0] > message[0]) is not rtl
    assert (close[0] > title[0]) is not rtl


@pytest.fixture(scope="module")
def any_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose widget may be embedded by any site: each test's shop page is one."""
    s = Server(tmp_path_factory.mktemp("any-origin"), PARLEY_ALLOWED_ORIGINS="*").start()
    yield s
    s.stop()


def open_shop(page: Page, shop: Shop) -> None:
    page.goto(shop.origin)
    page.click("#launcher")
    expect(page.locator("#gate")).to_be_visible()


def test_a_site_sets_the_language_and_overrides_strings_by_attribute(
    any_origin: Server, shops: Callable[..., Shop], new_page: Callable[..., Page]
) -> None:
    """data-lang beats the browser's language; data-i18n-<id> beats data-i18n, which beats the
    catalogue; what is not overridden comes from the catalogue of that language."""
    fr = catalogues()["fr"]
    shop = shops(
        any_origin,
        'data-lang="fr" data-i18n=\'{"send": "Expédier", "start": "Allons-y"}\' '
        'data-i18n-start="C\u2019est parti" data-i18n-rules-title="L\u2019essentiel"',
    )
    page = new_page(locale="en-US")
    open_shop(page, shop)
    expect(page.locator("#parley-widget")).to_have_attribute("lang", "fr")
    expect(page.locator("#panel h2")).to_have_text(fr["title"])  # no data-title: the catalogue's
    expect(page.locator("#start")).to_have_text("C\u2019est parti")
    expect(page.locator("#rules-title")).to_have_text("L\u2019essentiel")
    expect(page.locator("#full-policy-toggle")).to_have_text(fr["read-full"])
    accept(page)
    expect(page.locator("#send")).to_have_text("Expédier")


def test_a_page_gives_strings_for_several_languages(
    any_origin: Server, shops: Callable[..., Shop], new_page: Callable[..., Page]
) -> None:
    """window.ParleyStrings adds a language (Italian, with English for what it leaves out) and
    changes words of a shipped one (French)."""
    shop = shops(
        any_origin,
        before='<script>window.ParleyStrings = {"it": {"start": "Inizia la chat"}, '
        '"fr": {"start": "Démarrer"}};</script>',
    )
    italian = new_page(locale="it-IT")
    open_shop(italian, shop)
    expect(italian.locator("#parley-widget")).to_have_attribute("lang", "it")
    expect(italian.locator("#start")).to_have_text("Inizia la chat")
    expect(italian.locator("#rules-title")).to_have_text(catalogues()["en"]["rules-title"])

    french = new_page(locale="fr-FR")
    open_shop(french, shop)
    expect(french.locator("#start")).to_have_text("Démarrer")
    expect(french.locator("#rules-title")).to_have_text(catalogues()["fr"]["rules-title"])


def test_an_override_is_text_never_html(
    any_origin: Server, shops: Callable[..., Shop], new_page: Callable[..., Page]
) -> None:
    hostile = '<img src=x onerror="window.pwned = 1">'
    shop = shops(
        any_origin,
        "data-i18n-start='" + hostile + '\' data-i18n=\'{"rules-title": "<b>bold</b>"}\'',
        before='<script>window.ParleyStrings = {"en": {"read-full": '
        '"<script>window.pwned = 2</scr" + "ipt>"}};</script>',
    )
    page = new_page()
    open_shop(page, shop)
    expect(page.locator("#start")).to_have_text(hostile)
    expect(page.locator("#rules-title")).to_have_text("<b>bold</b>")
    expect(page.locator("#full-policy-toggle")).to_have_text("<script>window.pwned = 2</script>")
    assert page.locator("#start img, #rules-title b, #full-policy-toggle script").count() == 0
    assert page.evaluate("window.pwned") is None


def test_overrides_that_are_not_json_objects_are_ignored_with_one_warning_each(
    any_origin: Server, shops: Callable[..., Shop], new_page: Callable[..., Page]
) -> None:
    shop = shops(
        any_origin,
        "data-i18n='{\"send\": oops'",
        before='<script>window.ParleyStrings = "fr";</script>',
    )
    page = new_page(locale="en-US")
    warnings: list[str] = []

    def keep(message: ConsoleMessage) -> None:
        if message.type == "warning" and "Parley widget" in message.text:
            warnings.append(message.text)

    page.on("console", keep)
    open_shop(page, shop)
    expect(page.locator("#start")).to_have_text(catalogues()["en"]["start"])
    accept(page)
    expect(page.locator("#send")).to_have_text(catalogues()["en"]["send"])
    assert len(warnings) == 2, warnings
    assert any("data-i18n" in w for w in warnings) and any("ParleyStrings" in w for w in warnings)


def test_the_affirmation_is_in_the_widgets_words_and_fits_the_protocol(
    any_origin: Server, shops: Callable[..., Shop], new_page: Callable[..., Page]
) -> None:
    """The acceptance records what the visitor did in the words they read, cut to the 300
    characters an accept frame may carry, however long a site's own label."""
    label = "Ja, ich habe alles gelesen. " * 12 + "(v{version})"
    shop = shops(any_origin, f'data-lang="de" data-i18n-agree="{label}"')
    page = new_page(locale="en-US")
    open_shop(page, shop)
    conversation_id = accept(page)
    compliance = any_origin.add_staff("Carol Compliance", "compliance")
    record = httpx.get(
        f"{any_origin.http}/api/compliance/conversations/{conversation_id}",
        headers={"Authorization": f"Bearer {compliance}"},
    ).json()
    affirmation = record["acceptance"]["affirmation"]
    assert affirmation.startswith("„Ja, ich habe alles gelesen.")
    assert len(affirmation) == 300


def test_a_refusal_the_visitor_can_act_on_is_in_their_words_with_the_wait_in_words(
    make_server: Callable[..., Server], new_page: Callable[..., Page]
) -> None:
    """Too many new conversations from one address: the gate says so in French, and when to try
    again through Intl.RelativeTimeFormat, not the server's English and a count of seconds."""
    s = make_server(PARLEY_CONVERSATIONS_PER_HOUR="1").start()
    first = new_page(locale="fr-FR")
    open_widget(first, s)
    accept(first)
    second = new_page(locale="fr-FR")
    open_widget(second, s)
    second.check("#agree")
    second.click("#start")
    refusal = second.locator("#gate .error")
    expect(refusal).to_have_text(
        re.compile(r"^Trop de nouvelles conversations\. Veuillez réessayer dans \d+ minutes\.$")
    )
