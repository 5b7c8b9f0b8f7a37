"""The visitor's own copy of their data: a ``parley-access/1`` export as a readable page.

:func:`render` is pure (no I/O, no clock) and written for the visitor, in plain
words: what we know about you, each conversation with everything said in it,
the policy texts you accepted in full, warnings and closures with the clause
cited, the e-mail addresses you left, and the bars that concern you. Times are
shown in UTC and in the visitor's own time zone when their browser reported it.
The page is the template ``templates/access.html`` (and ``templates/access/``).

The templates escape every value taken from the export (messages, notes, user
agents and URLs are the visitor's or staff's text; see
:mod:`parley.evidence.markup`); only their words and markup are trusted.
"""

from __future__ import annotations

from typing import Any

from parley.evidence.markup import template, zone_of

RUNNING = ("Your data held by Parley", "Access request \\2014  visitor")

OUTCOMES = {
    "open": "still open",
    "resolved": "resolved",
    "closed": "closed for a breach of the conduct policy",
    "abandoned": "ended by Parley after you had left",
}


def render(export: dict[str, Any]) -> str:
    """The page of ``export`` (as built by :func:`parley.service.access.export`)."""
    vid = str((export.get("visitor") or {}).get("id", ""))
    return template("access.html").render(
        export=export,
        zone=zone_of(export.get("time_zone")),
        accepted=_accepted(export.get("conversations") or []),
        outcomes=OUTCOMES,
        running=RUNNING,
        conversation_id=vid,
        generated_at=export.get("generated_at"),
    )


def _accepted(conversations: list[Any]) -> list[dict[str, Any]]:
    """The acceptances of ``conversations``, one for each text (by its digest), first kept."""
    texts: dict[str, dict[str, Any]] = {}
    for record in conversations:
        acc = record.get("acceptance") or {}
        texts.setdefault(str(acc.get("sha256")), acc)
    return list(texts.values())
