"""Fixtures shared by every test folder: real servers on free ports."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from harness import POLICIES, SENT, RedisServer, Server
from tsa import LocalTSA

# A clean clone tests the same examples every run; `make fuzz` explores anew and keeps
# what failed in .hypothesis/ to replay it first next time.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("fuzz", max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the browser tests last: Playwright's sync API keeps its own event loop running
    for the whole session, and no asyncio test may start after it has."""
    items.sort(key=lambda item: "tests/browser/" in item.path.as_posix())


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A worker of ``pytest -n`` hands what its fuzz tests sent to the controller."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["sent"] = dict(SENT)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """The controller (pytest-xdist) adds up what every worker's fuzz tests sent."""
    SENT.update(getattr(node, "workeroutput", {}).get("sent", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How much the fuzz tests sent, for the record of what one run covers."""
    if SENT:
        counts = ", ".join(f"{n} {what}" for what, n in sorted(SENT.items()))
        terminalreporter.write_line(f"fuzzing sent {counts}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server shared by tests that only add their own visitors and conversations."""
    s = Server(tmp_path_factory.mktemp("shared-server")).start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One real redis-server for the session (AOF, appendfsync always)."""
    r = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def agent_token(server: Server) -> str:
    return server.add_staff("Alice Agent", "agent")


@pytest.fixture(scope="session")
def second_agent_token(server: Server) -> str:
    return server.add_staff("Bob Agent", "agent")


@pytest.fixture(scope="session")
def compliance_token(server: Server) -> str:
    return server.add_staff("Carol Compliance", "compliance")


@pytest.fixture(scope="session")
def admin_token(server: Server) -> str:
    return server.add_staff("Dan Admin", "admin")


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """A private copy of the policy folder that a test may change."""
    folder = tmp_path / "policies"
    shutil.copytree(POLICIES, folder)
    return folder


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Build servers of a test's own (not started); all are stopped at the end."""
    made: list[Server] = []

    def make(policies: Path = POLICIES, data_dir: Path | None = None, **env: str) -> Server:
        s = Server(data_dir or tmp_path / f"data-{len(made)}", policies, **env)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


@pytest.fixture(scope="session")
def local_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    """A real RFC 3161 TSA on loopback (``openssl ts -reply`` per request), its own CA."""
    tsa = LocalTSA(tmp_path_factory.mktemp("tsa")).start()
    yield tsa
    tsa.stop()


@pytest.fixture
def make_tsa(tmp_path: Path) -> Iterator[Callable[[str], LocalTSA]]:
    """Start more TSAs, each with a CA of its own (``label`` names both); stopped at the end."""
    made: list[LocalTSA] = []

    def make(label: str) -> LocalTSA:
        folder = tmp_path / f"tsa-{len(made)}"
        folder.mkdir()
        made.append(LocalTSA(folder, label).start())
        return made[-1]

    yield make
    for tsa in made:
        tsa.stop()
