"""The templates of the printable pages, and the pure helpers they call.

The evidence record (:mod:`parley.evidence.html`) and the visitor's copy of
their data (:mod:`parley.evidence.access_html`) are Jinja2 templates under
``templates/``, rendered with autoescaping on: every value taken from a bundle
is escaped wherever it lands, and only the words and markup of the templates
are trusted. A value that is missing, or that would reach the page as
something else than what was recorded, is left to the helpers here: ``shown``
names a missing value and shows characters that hide or reorder text as
``[U+XXXX]``; ``exact`` keeps a text's first line break through an HTML
parser.

Templates are written one element per line. The loader joins the lines of every
template but the page skeleton and its style sheet, without their indentation,
so no whitespace of a template reaches the page: in the blocks that keep line
breaks (written text, ``<pre>``) every space is the recorded text's own.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup, escape

from parley.domain import language as tags

# Names the time zone database answers to that are no browser's IANA zone:
# "localtime" would silently be the server's own zone.
_NOT_ZONES = {"localtime", "posixrules", "Factory"}
# Characters that hide or reorder text: control codes, bidirectional
# overrides and isolates, zero-width spaces, byte order marks.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200c\u200e\u200f"
    "\u202a-\u202e\u2060\u2066-\u2069\ufeff]"
)
_HEX = re.compile(r"[0-9a-fA-F]{12,}")
# The templates whose whitespace is part of the page.
_AS_WRITTEN = {"page.html", "style.css"}


class _Loader(PackageLoader):
    """The package's templates; each line of a body template is stripped, and lines joined."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        if template not in _AS_WRITTEN:
            source = "".join(line.strip() for line in source.splitlines())
        return source, filename, uptodate


def visible(value: Any) -> Markup:
    """``value`` as text with every invisible character shown as ``[U+XXXX]``."""
    text = str(escape(value if isinstance(value, str) else str(value)))
    return Markup(_INVISIBLE.sub(lambda m: f'<span class="ctl">[U+{ord(m[0]):04X}]</span>', text))


def shown(value: Any) -> Markup:
    """One bundle value for the page: ``visible``, or saying it is missing or empty."""
    if value is None:
        return Markup('<span class="missing">not recorded</span>')
    if value == "":
        return Markup('<span class="missing">(empty)</span>')
    return visible(value)


def exact(text: Any) -> str:
    """Text for a ``<pre>``, untouched but for a second leading LF (a parser drops one)."""
    written = "" if text is None else str(text)
    return "\n" + written if written.startswith("\n") else written


def zone_of(name: Any) -> ZoneInfo | None:
    """The visitor's IANA time zone, or ``None`` when it is missing, unknown or malformed."""
    if not isinstance(name, str) or name in _NOT_ZONES:
        return None
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return None


def utc(at: Any) -> datetime | None:
    """The instant a recorded time names, in UTC; ``None`` if it is not a time with an offset."""
    try:
        moment = datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment and moment.tzinfo else None


def utc_stamp(at: Any) -> str:
    """The instant a recorded time names as ``2026-11-23 17:37:36 UTC``; ``""`` if it is no time."""
    moment = utc(at)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else ""


def is_hex(value: Any) -> bool:
    """Whether ``value`` is a hash written in hex (12 digits or more)."""
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def appears_in(clause: dict[str, Any], accepted: Any) -> bool:
    """Whether ``clause`` (id, title, text) appears word for word in the ``accepted`` text."""
    block = f"\n{clause.get('id')} {clause.get('title')}\n{clause.get('text')}\n"
    return block in str(accepted or "")


def is_source(quote: dict[str, Any], source: Any, before: Any) -> bool:
    """Whether ``source`` is a message the visitor sent before event ``before``, reading
    exactly as ``quote`` says."""
    source = source if isinstance(source, dict) else {}
    seq, data = source.get("seq"), source.get("data") or {}
    return (isinstance(seq, int) and isinstance(before, int) and seq < before
            and source.get("type") == "message" and data.get("text") == quote.get("text")
            and (source.get("author") or {}).get("role") == "visitor")  # fmt: skip


def erasure(event: Any, name: str) -> dict[str, Any] | None:
    """The record of the erasure of field ``name`` of ``event``, if it was erased."""
    records = event.get("erased") if isinstance(event, dict) else None
    record = records.get(name) if isinstance(records, dict) else None
    return record if isinstance(record, dict) else None


def field(event: Any, name: str) -> Any:
    """Field ``name`` of ``event``'s data, ``None`` if it has none."""
    data = event.get("data") if isinstance(event, dict) else None
    return data.get(name) if isinstance(data, dict) else None


def by_seq(transcript: Any) -> dict[Any, dict[str, Any]]:
    """The events of ``transcript`` by their ``seq``."""
    events = transcript if isinstance(transcript, list) else []
    return {ev.get("seq"): ev for ev in events if isinstance(ev, dict)}


def code_spans(text: Any) -> list[tuple[str, bool]]:
    """``text`` cut into pieces, each marked True if it was written `between backticks`."""
    pieces = re.split(r"`([^`]+)`", str(text))
    return [(piece, n % 2 == 1) for n, piece in enumerate(pieces) if piece]


def css_name(value: Any) -> str:
    """Only the characters that need no escaping in a CSS string (HTML escapes mean nothing
    inside ``<style>``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "", str(value))


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


_environment = Environment(
    loader=_Loader("parley.evidence", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)
_environment.filters.update(shown=shown, visible=visible, exact=exact)
_environment.tests.update(hex=is_hex, list=lambda value: isinstance(value, list))
_environment.globals.update(
    utc=utc,
    utc_stamp=utc_stamp,
    sha256_of=sha256_of,
    appears_in=appears_in,
    is_source=is_source,
    erasure=erasure,
    field=field,
    by_seq=by_seq,
    code_spans=code_spans,
    css_name=css_name,
    as_json=as_json,
    language_named=tags.named,
    direction=tags.direction,
)


def template(name: str) -> Template:
    """The template ``name`` of ``templates/``, compiled once."""
    return _environment.get_template(name)
