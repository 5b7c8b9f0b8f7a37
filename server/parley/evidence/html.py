"""The printable evidence document: one conversation's bundle as a standalone HTML page.

:func:`render` is pure (no I/O, no clock: the time shown as "generated" is the
bundle's own) and builds a complete HTML5 document with no external resources
and no script, laid out to be read on screen and printed by a lawyer. The page
is the template ``templates/evidence.html`` (one file per section under
``templates/evidence/``).

The bundle holds text the visitor controls (messages, user agent, page URL,
time zone) and text staff control (names, notes). The templates escape every
value taken from it (autoescaping, see :mod:`parley.evidence.markup`), and
invisible characters that could disguise a message (bidirectional overrides,
zero-width spaces, control codes) are shown as ``[U+XXXX]`` wherever they occur
outside the policy text, whose exact wording is the point of section 2.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from parley.domain import note as signed_note
from parley.domain.transcript import format_time
from parley.errors import TimestampInvalid
from parley.evidence import timestamp
from parley.evidence.markup import template, zone_of

#: The running header and footer of a printed evidence record (CSS strings, trusted).
EVIDENCE_RUNNING = ("Parley evidence record", "Evidence record \\2014  conversation")


def render(bundle: dict[str, Any]) -> str:
    """The evidence document of ``bundle`` (as built by ``service.evidence.export``).

    Tolerates older bundles (no ``time_zone``) and missing optional values; an
    unknown or invalid visitor time zone means times are shown in UTC only.
    """
    cid = str((bundle.get("conversation") or {}).get("id", ""))
    anchor = bundle.get("anchor") or {}
    return template("evidence.html").render(
        bundle=bundle,
        cid=cid,
        zone=zone_of((bundle.get("acceptance") or {}).get("time_zone")),
        cosigners=_cosigners(anchor, (anchor.get("checkpoint") or {}).get("origin")),
        stamped=_stamped(anchor),
        running=EVIDENCE_RUNNING,
        conversation_id=cid,
        generated_at=bundle.get("generated_at"),
    )


def _cosigners(anchor: dict[str, Any], origin: Any) -> list[tuple[str, str]] | None:
    """Who cosigned the checkpoint's note, and when they say they did (checked by
    ``--witness``); ``None`` if the bundle carries no signed note."""
    try:
        lines = signed_note.parse(anchor["note"]).signatures
    except (KeyError, TypeError, ValueError):
        return None
    return [
        (s.name, format_time(_seconds(s.blob[:8])))
        for s in lines
        if s.name != origin and len(s.blob) == 72
    ]


def _seconds(big_endian: bytes) -> datetime:
    return datetime.fromtimestamp(min(int.from_bytes(big_endian), 253402300799), UTC)


def _stamped(anchor: dict[str, Any]) -> str | None:
    """When a time-stamping authority says the checkpoint existed (checked by ``--tsa-cert``)."""
    try:
        token = base64.b64decode(anchor["timestamp"], validate=True)
        at = timestamp.stamped_time(token, signed_note.parse(anchor["note"]).text.encode())
    except (KeyError, TypeError, ValueError, TimestampInvalid):
        return None
    return format_time(at)
