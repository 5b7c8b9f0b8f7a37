"""Parley's logs: one JSON object per line (or a readable line in a terminal) on stderr.

:func:`config` is the :func:`logging.config.dictConfig` of ``parley serve``, handed to
uvicorn too, so that every logger — Parley's, uvicorn's, the libraries' — writes
through one handler with one format. Each line carries:

* ``time`` (RFC 3339, UTC, milliseconds), ``level``, ``logger``, ``message``;
* the ids of what it concerns, when known (:data:`CONTEXT`): the web layer
  :func:`bind` s an :class:`Ids` per HTTP request and per WebSocket connection and fills it
  in as it learns them, so every ``log.info(...)`` made while serving it carries them;
* whatever the call passed as ``extra`` (``error_id``, ``status``, ...);
* ``traceback``, last, for a record logged with an exception.

What is never written (the safety net behind the rule that no call logs them):
``extra`` keys that name a secret or a text (:data:`SECRET_KEYS`) are replaced by
``[redacted]``, and so are, in the message and the traceback, ``Bearer`` credentials
and every word shaped like a Parley token (43 characters of base64url, 256 bits).
Libraries log at ``info`` at most, whatever the level: their debug output holds
WebSocket frames and SQL parameters, that is message texts and tokens.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TextIO

from pythonjsonlogger.json import JsonFormatter


class LogFormat(StrEnum):
    AUTO = "auto"  # text when stderr is a terminal, else JSON
    JSON = "json"
    TEXT = "text"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def number(self) -> int:
        return int(logging.getLevelName(self.name))


def parse_log_format(text: str) -> LogFormat:
    """``auto``, ``json`` or ``text``; raises ValueError otherwise."""
    try:
        return LogFormat(text.strip().lower())
    except ValueError:
        raise ValueError("must be auto, json or text") from None


def parse_log_level(text: str) -> LogLevel:
    """``debug``, ``info``, ``warning`` or ``error``; raises ValueError otherwise."""
    try:
        return LogLevel(text.strip().lower())
    except ValueError:
        raise ValueError("must be debug, info, warning or error") from None


#: The ids a line carries when known, in this order.
CONTEXT = ("request_id", "connection_id", "conversation_id", "visitor_id", "staff_id")


class Ids:
    """The ids of one HTTP request or WebSocket connection, filled in as they become known.

    Mutable on purpose: the tasks serving one connection share it, so an id learned
    by the reader (a visitor's, once it said hello) is on the lines of the others too.
    """

    __slots__ = CONTEXT

    def __init__(self, request_id: str | None = None, connection_id: str | None = None) -> None:
        self.request_id = request_id
        self.connection_id = connection_id
        self.conversation_id: str | None = None
        self.visitor_id: str | None = None
        self.staff_id: str | None = None


_ids: contextvars.ContextVar[Ids | None] = contextvars.ContextVar("parley_ids", default=None)
#: The conversation the frame being handled names: an agent's connection is about many.
_concerning: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "parley_concerning", default=None
)


def bind(ids: Ids) -> None:
    """Lines logged from now on in this task (and tasks it starts) carry ``ids``."""
    _ids.set(ids)


@contextlib.contextmanager
def bound(ids: Ids | None) -> Iterator[None]:
    """Lines logged within (and in tasks started within) carry ``ids``, and no conversation
    named by a frame of whichever connection was being served."""
    token, concerning_token = _ids.set(ids), _concerning.set(None)
    try:
        yield
    finally:
        _concerning.reset(concerning_token)
        _ids.reset(token)


def current() -> Ids | None:
    return _ids.get()


def concerning(conversation_id: str | None) -> None:
    """Lines logged from now on in this context concern ``conversation_id`` (None: the
    connection's own, if any)."""
    _concerning.set(conversation_id)


class ContextFilter(logging.Filter):
    """Adds the bound ids to every record (keeping any the call passed itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = _ids.get()
        for name in CONTEXT:
            if record.__dict__.get(name) is not None:
                continue
            value = getattr(ids, name) if ids is not None else None
            if name == "conversation_id":
                value = _concerning.get() or value
            if value is not None:
                setattr(record, name, value)
        return True


class QuietSocketLines(logging.Filter):
    """Drops uvicorn's per-WebSocket lines: some name the client's address and the query
    string, and Parley logs each connection itself (:mod:`parley.web.requests`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = str(record.msg)
        return not (msg.startswith('%s - "WebSocket %s"') or msg in _SOCKET_LINES)


_SOCKET_LINES = frozenset({"connection open", "connection closed"})


#: ``extra`` keys never written: secrets, and the texts people wrote.
SECRET_KEYS = re.compile(
    r"token|secret|passw|authorization|cookie|credential|api_?key|signature"
    r"|^(text|note|body|policy_text|message_text)$",
    re.IGNORECASE,
)
#: A Parley token (``secrets.token_urlsafe(32)``), or a bearer credential, anywhere in a text.
SECRET_WORDS = re.compile(
    r"(?<=Bearer )[\w.~+/-]+=*|(?<![\w+/=-])[\w-]{43}(?![\w+/=-])", re.IGNORECASE | re.ASCII
)
REDACTED = "[redacted]"


def scrub(text: str) -> str:
    """``text`` with every token-shaped word and bearer credential replaced."""
    return SECRET_WORDS.sub(REDACTED, text)


def redact(value: Any) -> Any:
    """``value`` with secret-named keys replaced, at any depth, and token-shaped words scrubbed."""
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_KEYS.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return scrub(value)
    return value


def rfc3339(created: float) -> str:
    """``2026-12-03T10:11:31.123Z``."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


#: Attributes every LogRecord has, and uvicorn's copy of its message with terminal colours:
#: not ``extra``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonLines(JsonFormatter):
    """One JSON object per record: time, level, logger, message, ids, extras, traceback."""

    def __init__(self) -> None:
        super().__init__(reserved_attrs=sorted(_STANDARD))

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = rfc3339(record.created)
        log_data["level"] = record.levelname.lower()
        log_data["logger"] = record.name
        log_data["message"] = ""
        traceback = message_dict.pop("exc_info", None)
        for name in CONTEXT:
            if record.__dict__.get(name) is not None:
                log_data[name] = record.__dict__[name]
        super().add_fields(log_data, record, message_dict)
        log_data["message"] = scrub(record.getMessage())
        for key, value in list(log_data.items()):
            if key not in ("time", "level", "logger", "message"):
                log_data[key] = REDACTED if SECRET_KEYS.search(key) else redact(value)
        if traceback:
            log_data["traceback"] = scrub(str(traceback))


class TextLines(logging.Formatter):
    """``TIME LEVEL LOGGER: MESSAGE  key=value ...``, then the traceback's lines."""

    def format(self, record: logging.LogRecord) -> str:
        given = {k: v for k, v in record.__dict__.items() if k not in _STANDARD and v is not None}
        extras = {k: given.pop(k) for k in CONTEXT if k in given} | given
        fields = "".join(
            f"  {k}={REDACTED if SECRET_KEYS.search(k) else redact(v)}" for k, v in extras.items()
        )
        line = (
            f"{rfc3339(record.created)} {record.levelname.lower():<7} {record.name}: "
            f"{scrub(record.getMessage())}{fields}"
        )
        if record.exc_info:
            line += "\n" + scrub(self.formatException(record.exc_info))
        return line


def chosen(log_format: LogFormat, stream: TextIO) -> LogFormat:
    """``auto`` resolved: text when ``stream`` is a terminal, else JSON."""
    if log_format is not LogFormat.AUTO:
        return log_format
    return LogFormat.TEXT if stream.isatty() else LogFormat.JSON


def config(log_format: LogFormat, level: LogLevel) -> dict[str, Any]:
    """The ``dictConfig`` of ``parley serve``: everything on stderr through one formatter.

    ``level`` is Parley's own loggers' (``parley.*``); every other logger is held at
    ``info`` or above (see the module's docstring). Loggers that exist already keep
    working: their records reach the one handler.
    """
    formatter = JsonLines if chosen(log_format, sys.stderr) is LogFormat.JSON else TextLines
    libraries = max(level.number, logging.INFO)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}, "sockets": {"()": QuietSocketLines}},
        "formatters": {"parley": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "parley",
                "filters": ["context"],
            }
        },
        "loggers": {
            "parley": {"level": level.number},
            "uvicorn": {"handlers": [], "propagate": True, "level": libraries},
            "uvicorn.error": {"handlers": [], "filters": ["sockets"], "level": libraries},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": libraries},
    }
