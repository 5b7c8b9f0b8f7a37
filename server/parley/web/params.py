"""Query and path parameters of the HTTP API, read and checked in one place.

An endpoint names the query parameters it takes when it builds :class:`Params`,
and reads each value through one typed reader here. A value is either of its
type and within its range, or a :class:`~parley.errors.BadRequest` (400
``bad_request``) naming the parameter, raised before the endpoint reads or
writes anything:

* a parameter the endpoint does not take, or one given twice;
* a whole number that is not plain ASCII digits, or is outside its range;
* a time that is not RFC 3339 with a zone, or falls outside the years 1 to 9999 in UTC;
* a choice that is not offered; text longer than :data:`MAX_TEXT` characters;
* a cursor the listing did not return (:mod:`parley.web.cursors`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.requests import Request

from parley.domain.transcript import format_time
from parley.errors import BadRequest
from parley.store.base import MAX_PAGE
from parley.web.cursors import Cursors

#: The longest id or filter value a query may carry.
MAX_TEXT = 256
#: The highest policy version: ``policies/policy.schema.json`` allows no more, so that a
#: version is exact as a JSON number in every language (2^53 - 1).
MAX_VERSION = 2**53 - 1
DEFAULT_LIMIT = 50

WHOLE = re.compile(r"[0-9]+")
#: RFC 3339 date-time, section 5.6; the zone is checked apart to say what is missing.
TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?")
ZONE = re.compile(r"[Zz]|[+-][0-9]{2}:[0-9]{2}")
#: Parameters that choose a page or its form, not which records: a cursor is not bound to them.
PAGING = frozenset({"cursor", "limit", "format"})


def whole(name: str, raw: str, low: int, high: int) -> int:
    """``raw`` as a whole number in ``low..high``; BadRequest naming ``name`` otherwise."""
    if WHOLE.fullmatch(raw) is None:
        shown = raw if len(raw) <= 64 else raw[:64] + "…"
        raise BadRequest(f"{name} {shown!r} is not a whole number")
    digits = raw.lstrip("0") or "0"
    # Compare lengths first: converting thousands of digits costs time (Python refuses).
    if len(digits) > len(str(high)) or not low <= int(digits) <= high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return int(digits)


def rfc3339(name: str, raw: str) -> str:
    """``raw``, an RFC 3339 time with a zone, as the stored form (UTC, milliseconds)."""
    stamp = TIME.match(raw)
    if stamp is None or (stamp.end() < len(raw) and not ZONE.fullmatch(raw, stamp.end())):
        raise BadRequest(f"{name} {raw[:64]!r} is not an RFC 3339 time, e.g. 2026-11-01T00:00:00Z")
    if stamp.end() == len(raw):
        raise BadRequest(f"{name} {raw!r} needs a time zone, e.g. 2026-11-01T00:00:00Z")
    try:
        return format_time(datetime.fromisoformat(raw.upper()).astimezone(UTC))
    except (ValueError, OverflowError):
        problem = "is not a real time in the years 1 to 9999 (UTC)"
        raise BadRequest(f"{name} {raw!r} {problem}") from None


@dataclass(frozen=True)
class Paging:
    """Which page of a listing to read, and how to hand out the cursor of the next."""

    limit: int
    #: The store position after which the page starts; ``None`` for the first page.
    after: str | None
    listing: str
    cursors: Cursors

    def next_cursor(self, position: str | None) -> str | None:
        """The cursor of the page after ``position`` (the store's), or ``None`` on the last."""
        return None if position is None else self.cursors.seal(self.listing, position)


class Params:
    """The query of one request, refusing any parameter the endpoint does not take."""

    def __init__(self, request: Request, *names: str) -> None:
        self._request = request
        self._query: dict[str, str] = {}
        for name, value in request.query_params.multi_items():
            if name not in names:
                takes = ", ".join(names) if names else "no parameters"
                raise BadRequest(f"unknown parameter {name[:64]!r}; this endpoint takes {takes}")
            if name in self._query:
                raise BadRequest(f"{name} is given more than once")
            self._query[name] = value

    def text(self, name: str) -> str | None:
        value = self._query.get(name)
        if value is not None and not 1 <= len(value) <= MAX_TEXT:
            raise BadRequest(f"{name} must be 1 to {MAX_TEXT} characters long")
        return value

    def whole(self, name: str, low: int, high: int) -> int | None:
        raw = self._query.get(name)
        return None if raw is None else whole(name, raw, low, high)

    def path_whole(self, name: str, low: int, high: int) -> int:
        return whole(name, self._request.path_params[name], low, high)

    def time(self, name: str) -> str | None:
        raw = self._query.get(name)
        return None if raw is None else rfc3339(name, raw)

    def choice(self, name: str, options: tuple[str, ...]) -> str:
        """One of ``options``; the first when the parameter is absent."""
        chosen = self._query.get(name, options[0])
        if chosen not in options:
            raise BadRequest(f"{name} must be one of {', '.join(options)}")
        return chosen

    def flag(self, name: str) -> bool:
        return self.choice(name, ("false", "true")) == "true"

    def paging(self, cursors: Cursors) -> Paging:
        """``limit`` and ``cursor``; the cursor must be one this listing, so filtered, returned."""
        filters = sorted((k, v) for k, v in self._query.items() if k not in PAGING)
        listing = json.dumps([self._request.url.path, filters])
        limit = self.whole("limit", 1, MAX_PAGE)
        cursor = self._query.get("cursor")
        after = None if cursor is None else cursors.open(listing, cursor)
        return Paging(DEFAULT_LIMIT if limit is None else limit, after, listing, cursors)
