"""What agents see of a visitor's client, read from the acceptance the server recorded."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ua_parser import parse

from parley.domain.transcript import Event

#: The longest user agent parsed: real ones are a few hundred characters, and parsing
#: time grows with the length of what a client sends.
MAX_USER_AGENT = 512


@lru_cache(maxsize=1024)
def browser(user_agent: str) -> dict[str, str | None]:
    """The browser, its major version, the operating system and the device of a user
    agent; ``None`` for each part the parser does not recognise."""
    found = parse(user_agent[:MAX_USER_AGENT])
    ua, system, device = found.user_agent, found.os, found.device
    name = ua.family if ua is not None and ua.family != "Other" else None
    return {
        "name": name,
        "version": ua.major if ua is not None and name else None,
        "os": system.family if system is not None and system.family != "Other" else None,
        "device": device.family if device is not None and device.family != "Other" else None,
    }


def visitor_context(acceptance: Event) -> dict[str, Any]:
    """The client the visitor accepted from: page, browser, locale, time zone and address."""
    d = acceptance.data
    agent = d.get("user_agent")
    return {
        "page_url": d.get("page_url"),
        "user_agent": agent,
        "browser": browser(agent) if agent else None,
        "locale": d.get("locale"),
        "time_zone": d.get("time_zone"),
        "ip": d.get("ip"),
    }
