"""The visitor downloads signed receipts from the widget: JSON that verifies with the server's
key, and a readable page with the full accepted text."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect
from test_accessibility import check
from test_console import end_conversation, open_chat

from harness import Server
from parley.domain import receipt


def download(page: Page, link: str, folder: Path) -> Path:
    """What clicking ``link`` downloads, saved under the name the widget gave it."""
    with page.expect_download() as started:
        page.click(link)
    path = folder / started.value.suggested_filename
    started.value.save_as(path)
    return path


def links(seq: int) -> tuple[str, str]:
    """The signed JSON link and the readable page link of event ``seq``'s receipt."""
    slot = f'.receipt-links[data-receipt-seq="{seq}"]'
    return f"{slot} a.receipt-json", f"{slot} a.receipt-page"


def verified(path: Path, key: bytes) -> dict[str, Any]:
    body: dict[str, Any] = dict(receipt.verify(json.loads(path.read_text(encoding="utf-8")), key))
    return body


def test_a_visitor_downloads_receipts_of_acceptance_warning_and_closure(
    server: Server,
    agent_token: str,
    new_page: Callable[..., Page],
    shot: Callable[[Page, str], Path],
    tmp_path: Path,
) -> None:
    key = base64.b64decode(httpx.get(f"{server.http}/api/keys").json()["public_key"])
    in_force = httpx.get(f"{server.http}/api/policy").json()
    visitor, agent, conversation_id = open_chat(server, agent_token, new_page, "ANSWER ME NOW")
    accepted_json, accepted_page = links(1)
    expect(visitor.locator(accepted_json)).to_be_visible()
    accepted_file = download(visitor, accepted_json, tmp_path)
    assert accepted_file.name == f"receipt-{conversation_id}-1.json"
    accepted = verified(accepted_file, key)
    assert (accepted["kind"], accepted["conversation_id"]) == ("acceptance", conversation_id)
    assert accepted["text_sha256"] == in_force["sha256"]

    # The readable page, opened in the browser: the full text exactly, and how to check it.
    page = new_page()
    page.goto(download(visitor, accepted_page, tmp_path).as_uri())
    expect(page.locator("h1")).to_have_text("Receipt of your acceptance of the conduct policy")
    policy_text = page.locator("pre", has_text=in_force["text"][:40])
    expect(policy_text).to_have_text(in_force["text"], use_inner_text=False)
    expect(page.locator("body")).to_contain_text("openssl pkeyutl -verify")
    expect(page.locator("body")).to_contain_text(r"(printf '\060\052\060\005\006")
    check(page, "receipt page")
    shot(page, "receipt-page")

    agent.click("#warn")
    agent.check('#warn-dialog input[name="warn-clause"][value="4.1"]')
    agent.click("#confirm-warn")
    warning = visitor.locator("li.warning")
    expect(warning.locator("a.receipt-json")).to_be_visible()
    warning_seq = int(warning.get_attribute("data-seq") or 0)
    warned = verified(download(visitor, links(warning_seq)[0], tmp_path), key)
    assert (warned["kind"], warned["clause_id"], warned["event_seq"]) == (
        "warning",
        "4.1",
        warning_seq,
    )
    check(visitor, "widget: warned, with its receipt")

    end_conversation(agent, "1.1")
    notice = visitor.locator("#notice")
    expect(notice.locator("a.receipt-json")).to_be_visible()
    seq = int(notice.locator(".receipt-links").get_attribute("data-receipt-seq") or 0)
    closure_json, closure_page = links(seq)
    # Keyboard: the link takes focus and Enter downloads.
    visitor.locator(f"#notice {closure_json}").focus()
    with visitor.expect_download() as by_keyboard:
        visitor.keyboard.press("Enter")
    closed = verified(Path(by_keyboard.value.path()), key)
    assert (closed["kind"], closed["clause_id"]) == ("closure", "1.1")
    clause = next(c for c in in_force["clauses"] if c["id"] == "1.1")
    assert closed["clause_sha256"] == receipt.sha256_text(clause["text"])
    check(visitor, "widget: closed, with its receipt")
    shot(visitor, "closed-with-receipt")
    page.goto(download(visitor, f"#notice {closure_page}", tmp_path).as_uri())
    expect(page.locator("h1")).to_have_text("Receipt of the closure of your conversation")
    expect(page.locator("blockquote")).to_have_text(clause["text"])
    expect(page.locator("pre", has_text=in_force["text"][:40])).to_have_text(
        in_force["text"], use_inner_text=False
    )

    # After a reload the receipts are still offered: kept in localStorage, the page replays.
    visitor.reload()
    expect(visitor.locator(f"#log {accepted_json}")).to_be_visible()
    expect(visitor.locator(f"#log {links(warning_seq)[0]}")).to_be_visible()
    again = verified(download(visitor, f"#log {accepted_json}", tmp_path), key)
    assert again == accepted, "the receipt kept is the first one, not one signed anew"
