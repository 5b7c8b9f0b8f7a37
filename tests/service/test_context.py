"""The visitor's client as agents see it, from the acceptance's recorded facts."""

from __future__ import annotations

from parley.service.context import MAX_USER_AGENT, browser

FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def test_a_known_user_agent_names_browser_version_system_and_device() -> None:
    assert browser(FIREFOX) == {
        "name": "Firefox",
        "version": "133",
        "os": "Windows",
        "device": None,
    }
    assert browser(IPHONE) == {
        "name": "Mobile Safari",
        "version": "17",
        "os": "iOS",
        "device": "iPhone",
    }


def test_an_unknown_user_agent_is_unknown_in_every_part() -> None:
    unknown = {"name": None, "version": None, "os": None, "device": None}
    assert browser("pytest") == unknown


def test_only_the_start_of_an_overlong_user_agent_is_parsed() -> None:
    """Parsing time grows with the input: what a client sends past the limit is not read."""
    padded = "x" * MAX_USER_AGENT + " " + FIREFOX
    assert browser(padded)["name"] is None
    assert browser(FIREFOX + " " + "x" * 10 * MAX_USER_AGENT)["name"] == "Firefox"
