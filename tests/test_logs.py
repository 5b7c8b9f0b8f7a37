"""The log format, the ids every line carries, and the redaction safety net (parley.logs)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import os
import re
from collections.abc import Iterator

import pytest

from parley import logs
from parley.config import Settings
from parley.logs import LogFormat, LogLevel
from parley.service.core import new_id, new_token

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def record(
    message: str = "hello %s",
    args: tuple[object, ...] = ("world",),
    exc: BaseException | None = None,
    **extra: object,
) -> logging.LogRecord:
    """A record as ``logging.getLogger("parley.test").info(message, *args, extra=extra)``
    makes it, through the context filter."""
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    r = logging.getLogger("parley.test").makeRecord(
        "parley.test", logging.INFO, "f.py", 1, message, args, exc_info, extra=extra
    )
    logs.ContextFilter().filter(r)
    return r


def as_json(r: logging.LogRecord) -> dict[str, object]:
    line = logs.JsonLines().format(r)
    assert "\n" not in line, "one line per record"
    parsed: dict[str, object] = json.loads(line)
    return parsed


def failed(text: str) -> BaseException:
    try:
        raise RuntimeError(text)
    except RuntimeError as e:
        return e


def test_a_json_line_has_time_level_logger_message_first_and_the_traceback_last() -> None:
    """Logs: time (RFC 3339 UTC, ms), level, logger, message lead; extras follow; the
    traceback is a field of the same line, last."""
    line = as_json(record(exc=failed("boom"), error_id="e_1", status=500))
    assert list(line)[:4] == ["time", "level", "logger", "message"]
    assert list(line)[-1] == "traceback"
    assert TIME.fullmatch(str(line["time"])), line["time"]
    assert (line["level"], line["logger"], line["message"]) == (
        "info",
        "parley.test",
        "hello world",
    )
    assert (line["error_id"], line["status"]) == ("e_1", 500)
    assert "Traceback (most recent call last)" in str(line["traceback"])
    assert "RuntimeError: boom" in str(line["traceback"])


def test_lines_carry_the_bound_ids_and_the_conversation_a_frame_names() -> None:
    """Logs: a line logged while a request is served carries its ids without the call passing
    them; the conversation a frame names wins over the connection's; a call's own id wins."""
    assert "request_id" not in as_json(record())
    ids = logs.Ids(connection_id="w_1")
    ids.visitor_id, ids.conversation_id, ids.staff_id = "v_1", "c_own", "s_1"
    with logs.bound(ids):
        line = as_json(record())
        assert {k: line[k] for k in logs.CONTEXT if k in line} == {
            "connection_id": "w_1",
            "conversation_id": "c_own",
            "visitor_id": "v_1",
            "staff_id": "s_1",
        }
        logs.concerning("c_named")
        assert as_json(record())["conversation_id"] == "c_named"
        with logs.bound(logs.Ids(connection_id="w_2")):
            assert "conversation_id" not in as_json(record()), "another connection's line"
        assert as_json(record(conversation_id="c_passed"))["conversation_id"] == "c_passed"
        logs.concerning(None)
        assert as_json(record())["conversation_id"] == "c_own"
    assert "connection_id" not in as_json(record()), "unbound when the request ends"


def test_secret_named_fields_are_redacted_at_any_depth() -> None:
    """Logs: extra fields named like a secret or a text people wrote never reach the line."""
    line = as_json(
        record(
            token="t1",
            resume_token="t2",
            authorization="Bearer t3",
            headers={"Cookie": "t4", "accept": "ok"},
            text="a visitor's words",
            note="an agent's note",
            client_secret="t5",
        )
    )
    assert "t1" not in json.dumps(line) and "words" not in json.dumps(line)
    assert line["token"] == line["resume_token"] == line["authorization"] == "[redacted]"
    assert line["text"] == line["note"] == line["client_secret"] == "[redacted]"
    assert line["headers"] == {"Cookie": "[redacted]", "accept": "ok"}


def test_token_shaped_words_and_bearer_credentials_are_scrubbed_from_messages_and_tracebacks() -> (
    None
):
    """Logs: a Parley token (or any 43-character base64url word) and a bearer credential are
    masked wherever they appear, even passed as an argument or in an exception; ids, digests
    and ordinary words are not."""
    token, other = new_token(), new_token()
    digest, visitor = "ab" * 32, new_id("v")
    line = as_json(
        record(
            "hello %s, %s; Authorization: Bearer sk-live-123; %s %s",
            (token, visitor, digest, "plain"),
            exc=failed(f"no visitor for {other!r}"),
        )
    )
    text = json.dumps(line)
    assert token not in text and other not in text and "sk-live-123" not in text
    assert line["message"] == (
        f"hello [redacted], {visitor}; Authorization: Bearer [redacted]; {digest} plain"
    )
    assert "no visitor for '[redacted]'" in str(line["traceback"])


def test_text_lines_are_readable_with_ids_as_key_value_and_redacted_too() -> None:
    """Logs: the text format is one readable line (then the traceback), with the same fields
    and the same redaction."""
    token = new_token()
    with logs.bound(logs.Ids(request_id="r_1")):
        text = logs.TextLines().format(
            record("got %s", (token,), exc=failed("boom"), status=400, token="t1")
        )
    first, *rest = text.splitlines()
    assert re.fullmatch(
        rf"{TIME.pattern} info    parley\.test: got \[redacted\]  request_id=r_1  status=400"
        r"  token=\[redacted\]",
        first,
    ), first
    assert rest[0] == "Traceback (most recent call last):" and rest[-1] == "RuntimeError: boom"


def test_auto_is_text_on_a_terminal_and_json_otherwise() -> None:
    """Logs: PARLEY_LOG_FORMAT=auto writes text to a terminal (a real pseudo-terminal here)
    and JSON to anything else; json and text are what they say."""
    controller, terminal = os.openpty()
    with os.fdopen(terminal, "w") as tty:
        assert logs.chosen(LogFormat.AUTO, tty) is LogFormat.TEXT
        assert logs.chosen(LogFormat.JSON, tty) is LogFormat.JSON
    os.close(controller)
    assert logs.chosen(LogFormat.AUTO, io.StringIO()) is LogFormat.JSON
    assert logs.chosen(LogFormat.TEXT, io.StringIO()) is LogFormat.TEXT


def test_settings_read_the_format_and_level_case_blind_with_info_and_auto_by_default() -> None:
    """Config: PARLEY_LOG_FORMAT and PARLEY_LOG_LEVEL (bad values: test_config.py)."""
    assert (Settings().log_format, Settings().log_level) == (LogFormat.AUTO, LogLevel.INFO)
    s = Settings.from_env({"PARLEY_LOG_FORMAT": " JSON ", "PARLEY_LOG_LEVEL": "Debug"})
    assert (s.log_format, s.log_level) == (LogFormat.JSON, LogLevel.DEBUG)


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the process's logging back as pytest had it after a test applies a config."""
    root = logging.getLogger()
    names = ("parley", "aiosqlite", "websockets", "uvicorn", "uvicorn.error", "uvicorn.access")
    saved = [(logger, logger.level, logger.handlers[:], logger.filters[:], logger.propagate)
             for logger in (root, *map(logging.getLogger, names))]  # fmt: skip
    yield
    for logger, level, handlers, filters, propagate in saved:
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.filters[:] = filters
        logger.propagate = propagate


@pytest.mark.usefixtures("restored_logging")
def test_the_level_is_parleys_while_libraries_never_log_below_info(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Logs: PARLEY_LOG_LEVEL=debug shows Parley's debug lines, never a library's (websockets
    logs whole frames and aiosqlite SQL parameters at debug); at info Parley's debug lines are
    gone; uvicorn's per-WebSocket lines (client address, query string) are dropped."""
    logging.config.dictConfig(logs.config(LogFormat.JSON, LogLevel.DEBUG))
    logging.getLogger("parley.web").debug("parley debug")
    logging.getLogger("websockets.server").debug('< TEXT \'{"text": "secret words"}\'')
    logging.getLogger("aiosqlite").debug("executing %s", "INSERT ... ('secret words')")
    logging.getLogger("uvicorn.error").info('%s - "WebSocket %s" [accepted]', "10.1.2.3", "/ws")
    logging.getLogger("uvicorn.error").info("connection open")
    logging.getLogger("uvicorn.error").info("Started server process")
    logging.config.dictConfig(logs.config(LogFormat.JSON, LogLevel.INFO))
    logging.getLogger("parley.web").debug("parley debug at info")
    logging.getLogger("parley.web").info("parley info")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["logger"], line["message"]) for line in lines] == [
        ("parley.web", "parley debug"),
        ("uvicorn.error", "Started server process"),
        ("parley.web", "parley info"),
    ]
