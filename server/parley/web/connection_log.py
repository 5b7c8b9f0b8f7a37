"""What a WebSocket connection's log lines say: the frames it handled, the ids it learned.

A line per frame handled, named by the endpoint and the frame's type only (never
its fields: they hold message texts and tokens), at ``info`` for the frames that
change a conversation or who is on it (:data:`NOTABLE`), at ``debug`` for the rest;
a line at ``debug`` per error answered, with its code. Every line the connection logs
carries its visitor's or staff member's id once known, and the conversation: the
visitor's own, or the one the frame being handled names.
"""

from __future__ import annotations

import logging
import re

from parley import logs
from parley.service import VisitorSession
from parley.service.session import Session

log = logging.getLogger("parley.web")

#: Parley's ids (``c_`` and 22 characters): a frame's ``conversation_id`` is logged only if
#: it is one, never whatever else a client sent in its place.
ID = re.compile(r"[a-z]_[A-Za-z0-9_-]{22}")
NOTABLE = frozenset(
    {
        "hello",
        "accept",
        "contact",
        "join",
        "leave",
        "claim",
        "transfer",
        "release",
        "observe",
        "warn",
        "resolve",
        "close",
    }
)


def reading(frame: object) -> None:
    """Lines logged from now on, until the next frame, concern the conversation ``frame`` names
    (if it names one by a well-formed id), else the connection's own."""
    named = frame.get("conversation_id") if isinstance(frame, dict) else None
    logs.concerning(named if isinstance(named, str) and ID.fullmatch(named) else None)


def handled(session: Session, endpoint: str, kind: str) -> None:
    """Note the ids ``session`` has learned, and log the frame of type ``kind`` it handled."""
    ids = logs.current()
    if ids is not None:
        if isinstance(session, VisitorSession):
            ids.visitor_id = session.visitor_id
            ids.conversation_id = session.conversation.id if session.conversation else None
        elif (staff := getattr(session, "staff", None)) is not None:
            ids.staff_id = staff.id
    level = logging.INFO if kind in NOTABLE else logging.DEBUG
    log.log(level, "%s %s", endpoint, kind, extra={"frame": kind})


def answered(code: str) -> None:
    """Log that the client was answered an error of ``code`` (its own mistake)."""
    log.debug("answered %s", code, extra={"error": code})
