"""Query and path parameters of the HTTP API: the readers an endpoint declares them with.

An endpoint declares each parameter it takes with one reader here
(:mod:`parley.web.operations`); the same reader checks the value at run time
and describes it in the OpenAPI document (:meth:`Reader.schema`). A value is
either of its type and within its range, or a :class:`~parley.errors.BadRequest`
(400 ``bad_request``) naming the parameter, raised before the endpoint reads or
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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

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
#: The same shape as :data:`TIME` and :data:`ZONE`, for the OpenAPI description.
TIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


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


class Reader(Protocol):
    """How one parameter is read: its value from the raw text, and its JSON Schema."""

    def read(self, name: str, raw: str | None) -> object:
        """The value; ``raw`` is None when the parameter is absent (a path's never is)."""
        ...

    def schema(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Whole:
    """A whole number in ``low..high``, ASCII digits only."""

    low: int
    high: int
    #: What the endpoint takes when it is absent, for the description.
    default: int | None = None

    def read(self, name: str, raw: str | None) -> int | None:
        return None if raw is None else whole(name, raw, self.low, self.high)

    def schema(self) -> dict[str, Any]:
        shown = {} if self.default is None else {"default": self.default}
        return {"type": "integer", "minimum": self.low, "maximum": self.high, **shown}


@dataclass(frozen=True)
class Time:
    """An RFC 3339 time with a zone, as the stored form (:func:`rfc3339`)."""

    def read(self, name: str, raw: str | None) -> str | None:
        return None if raw is None else rfc3339(name, raw)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time", "pattern": TIME_PATTERN}


@dataclass(frozen=True)
class Choice:
    """One of ``options``; the first when the parameter is absent."""

    options: tuple[str, ...]

    def read(self, name: str, raw: str | None) -> str:
        chosen = self.options[0] if raw is None else raw
        if chosen not in self.options:
            raise BadRequest(f"{name} must be one of {', '.join(self.options)}")
        return chosen

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.options), "default": self.options[0]}


#: ``true`` or ``false``, false when absent.
FLAG = Choice(("false", "true"))


@dataclass(frozen=True)
class Text:
    """An id or filter of 1 to :data:`MAX_TEXT` characters."""

    def read(self, name: str, raw: str | None) -> str | None:
        if raw is not None and not 1 <= len(raw) <= MAX_TEXT:
            raise BadRequest(f"{name} must be 1 to {MAX_TEXT} characters long")
        return raw

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}


@dataclass(frozen=True)
class Segment:
    """A path segment taken as it is: an id the store looks up (unknown: 404)."""

    def read(self, name: str, raw: str | None) -> str:
        assert raw is not None, "a path parameter is never absent"
        return raw

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "minLength": 1}


@dataclass(frozen=True)
class Cursor:
    """The ``next_cursor`` a listing returned, opened by :func:`paging` after the filters."""

    def read(self, name: str, raw: str | None) -> str | None:
        return raw

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "description": "the next_cursor of the previous page"}


LIMIT = Whole(1, MAX_PAGE, DEFAULT_LIMIT)
#: The paging parameters of a listing: an endpoint that declares them is paged.
PAGE: dict[str, Reader] = {"limit": LIMIT, "cursor": Cursor()}


def query_of(request: Request, names: Mapping[str, object]) -> dict[str, str]:
    """The query, one value per name; BadRequest for a name not in ``names``, or one twice."""
    query: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in names:
            takes = ", ".join(names) if names else "no parameters"
            raise BadRequest(f"unknown parameter {name[:64]!r}; this endpoint takes {takes}")
        if name in query:
            raise BadRequest(f"{name} is given more than once")
        query[name] = value
    return query


def paging(request: Request, query: Mapping[str, str], cursors: Cursors) -> Paging:
    """``limit`` and ``cursor``; the cursor must be one this listing, so filtered, returned."""
    filters = sorted((k, v) for k, v in query.items() if k not in PAGING)
    listing = json.dumps([request.url.path, filters])
    limit = LIMIT.read("limit", query.get("limit"))
    cursor = query.get("cursor")
    after = None if cursor is None else cursors.open(listing, cursor)
    return Paging(DEFAULT_LIMIT if limit is None else limit, after, listing, cursors)
