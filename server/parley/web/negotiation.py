"""Proactive negotiation of a content coding (RFC 9110 §12.5.3) and ``If-None-Match`` (§13.1.2).

Pure: header values in, decisions out. A malformed member of a header is ignored, never an
error: these headers come from any client, and a member we cannot read states no preference.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

IDENTITY = "identity"
#: The weight of an ``identity`` the client does not list: below any it could give (0.001).
LAST_RESORT = 0.0005
#: ``token`` (RFC 9110 §5.6.2), the grammar of a content coding.
TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: ``qvalue`` (RFC 9110 §12.4.2): 0 to 1 with at most three decimals.
QVALUE = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?")
#: An ``entity-tag`` (RFC 9110 §8.8.3), weak or strong, with its opaque tag captured.
ENTITY_TAG = re.compile(r'\s*(?:W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*')


def weights(accept_encoding: str | None) -> dict[str, float]:
    """The q-value each coding listed in ``accept_encoding`` gets, codings lowercased.

    A coding listed twice keeps its lowest weight (a refusal is never undone). Members that
    are not ``coding [; q=qvalue]`` are ignored; parameters other than ``q`` are disregarded.
    """
    listed: dict[str, float] = {}
    for member in (accept_encoding or "").split(","):
        coding, *parameters = (part.strip() for part in member.split(";"))
        if not TOKEN.fullmatch(coding):
            continue
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                q = float(value.strip()) if QVALUE.fullmatch(value.strip()) else -1.0
        if q >= 0:
            coding = coding.lower()
            listed[coding] = min(q, listed.get(coding, q))
    return listed


def quality(accept_encoding: str | None, coding: str) -> float:
    """How much a request with this ``Accept-Encoding`` wants ``coding``; 0 is a refusal.

    * No header at all: only ``identity`` (a client that names no coding may decode none;
      RFC 9110 lets the server choose, and curl or a script sends no header).
    * A listed coding gets its q-value; one not listed gets the weight of ``*`` if listed.
    * ``identity`` not listed, and no ``*``, is acceptable (§12.5.3) as the last resort: the
      least weight above 0, so a client listing ``gzip;q=0.5`` gets gzip. Any other coding not
      listed is not acceptable; so an empty header asks for ``identity`` alone.
    """
    if accept_encoding is None:
        return 1.0 if coding == IDENTITY else 0.0
    listed = weights(accept_encoding)
    if coding in listed:
        return listed[coding]
    if "*" in listed:
        return listed["*"]
    return LAST_RESORT if coding == IDENTITY else 0.0


def acceptable(accept_encoding: str | None, available: Sequence[str]) -> list[str]:
    """The ``available`` codings the request accepts, best first: the client's weights
    decide, and among equal weights the order of ``available`` (the server's preference)."""
    ranked = [(quality(accept_encoding, c), i, c) for i, c in enumerate(available)]
    return [c for q, _, c in sorted(ranked, key=lambda r: (-r[0], r[1])) if q > 0]


def listed_tags(if_none_match: str | None) -> set[str] | None:
    """The opaque tags of an ``If-None-Match`` value, ``W/`` dropped (weak comparison);
    None when it is ``*`` (any current representation matches). Unreadable members are ignored."""
    if if_none_match is None:
        return set()
    members = [m.strip() for m in if_none_match.split(",")]
    if "*" in members:
        return None
    return {found.group(1) for m in members if (found := ENTITY_TAG.fullmatch(m))}
