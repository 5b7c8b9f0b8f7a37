"""A log of the test's own and a real witness process following it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tlog import TinyLog, WitnessProcess


@pytest.fixture
def log() -> TinyLog:
    return TinyLog().append(5)


@pytest.fixture
def witness(tmp_path: Path, log: TinyLog) -> Iterator[WitnessProcess]:
    w = WitnessProcess(tmp_path / "witness", log.vkey).start()
    yield w
    w.stop()
