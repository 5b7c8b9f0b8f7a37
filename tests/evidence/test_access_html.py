"""The visitor's page escapes every value of the copy, whoever wrote it."""

from __future__ import annotations

from parley.evidence.access_html import render

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def hostile_copy() -> dict:
    """A copy in which every text a visitor or staff member could set is markup."""
    clause = {"id": HOSTILE, "title": HOSTILE, "text": HOSTILE}
    who = {"role": "agent", "id": HOSTILE, "name": HOSTILE}
    cite = {"seq": 3, "at": HOSTILE, "type": "warning", "clause": clause, "note": HOSTILE,
            "messages": [{"seq": 2, "text": HOSTILE}], "notice": HOSTILE, "agent": who}  # fmt: skip
    event = {"seq": 2, "at": HOSTILE, "type": "message", "author": who, "data": {"text": HOSTILE}}
    contact = {"seq": 4, "at": HOSTILE, "type": "contact_left", "author": who,
               "data": {"email": HOSTILE}}  # fmt: skip
    return {
        "format": HOSTILE,
        "generated_at": HOSTILE,
        "generated_by": who,
        "visitor": {"id": HOSTILE, "created_at": HOSTILE},
        "time_zone": HOSTILE,
        "conversations": [
            {
                "conversation": {
                    "id": HOSTILE,
                    "state": HOSTILE,
                    "started_at": HOSTILE,
                    "ended_at": HOSTILE,
                },
                "acceptance": {
                    k: HOSTILE
                    for k in (
                        "accepted_at",
                        "title",
                        "policy_id",
                        "version",
                        "sha256",
                        "ip",
                        "user_agent",
                        "page_url",
                        "locale",
                        "time_zone",
                        "widget_build",
                        "affirmation",
                        "text",
                        "language",
                        "governing_language",
                        "governing_sha256",
                    )
                },
                "transcript": [event, contact, {**event, "type": HOSTILE}],
                "warnings": [cite],
                "closure": {**cite, "type": "closed"},
                "contacts": [{"seq": 4, "at": HOSTILE, "email": HOSTILE}],
                "audit": [{"at": HOSTILE, "actor": who, "action": HOSTILE}],
            }
        ],
        "bars": [
            {
                "on_you": False,
                "your_addresses": [HOSTILE],
                "created_at": HOSTILE,
                "until": HOSTILE,
                "lifted_at": HOSTILE,
                "network": HOSTILE,
                "clause": clause,
            }
        ],
    }


def test_no_value_of_the_copy_becomes_markup() -> None:
    page = render(hostile_copy())
    assert "<script" not in page and "<img" not in page and 'onerror="' not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") > 20


def test_template_syntax_in_the_copy_is_shown_literally() -> None:
    """The page is a Jinja2 template: a message or staff name that looks like template
    code is shown as written, never run."""
    code = "{{ 7 * 7 }} {% for x in range(3) %}loop{% endfor %}"
    copy = hostile_copy()
    record = copy["conversations"][0]
    record["transcript"][0]["data"]["text"] = code
    record["transcript"][0]["author"] = {"role": "agent", "id": "s_1", "name": code}
    page = render(copy)
    assert page.count(code) >= 2 and "looploop" not in page
