"""Real ``parley`` processes without paying Python's start-up for each one.

Every server and CLI run of the tests is its own process running the real
``parley.cli.main``, exactly as ``python -m parley.cli`` would; what differs is
where it comes from. Importing Parley costs about a second of CPU, and the
suite starts hundreds of servers and CLI runs: a fork server (the standard
library's ``multiprocessing`` one) imports Parley once, and each process is
forked from it with its own environment, arguments and standard streams.
``PARLEY_TEST_SPAWN=1`` starts each one with a fresh interpreter instead.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from multiprocessing.context import ForkServerProcess
from pathlib import Path

#: What the fork server imports once: the CLI, the server and what ``serve`` imports late.
PRELOAD = ["parley.cli", "uvicorn"]
CLI = str(Path(__file__).resolve().parent.parent / "server" / "parley" / "cli.py")
SPAWN = os.environ.get("PARLEY_TEST_SPAWN") == "1"

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def _main(args: list[str], env: dict[str, str], output: str, errors: str | None) -> None:
    """In the forked process: become ``python -m parley.cli *args`` with ``env``, writing to
    ``output`` (and ``errors``, or the same file)."""
    os.environ.clear()
    os.environ.update(env)
    out = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    err = os.open(errors, os.O_WRONLY | os.O_APPEND | os.O_CREAT) if errors else out
    os.dup2(out, 1)
    os.dup2(err, 2)
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    # Streams as a fresh interpreter writing to files would have them (block-buffered).
    sys.stdin = open(0, closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", closefd=False, errors="backslashreplace")  # noqa: SIM115
    sys.argv = [CLI, *args]
    from parley.cli import main

    code = main(args)
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(code)


class Process:
    """A started ``parley`` process, with the part of ``subprocess.Popen`` the tests use."""

    def __init__(self, args: list[str], env: dict[str, str], output: Path, errors: Path | None):
        self.args = args
        self.returncode: int | None = None
        self._popen: subprocess.Popen[bytes] | None = None
        self._forked: ForkServerProcess | None = None
        if SPAWN:
            out = output.open("ab")
            err = errors.open("ab") if errors else subprocess.STDOUT
            self._popen = subprocess.Popen(
                [sys.executable, "-m", "parley.cli", *args],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
            )  # fmt: skip
            out.close()
            if errors:
                assert not isinstance(err, int)
                err.close()
            self.pid = self._popen.pid
        else:
            self._forked = _context.Process(
                target=_main, args=(args, env, str(output), str(errors) if errors else None)
            )
            # Stopped with the test process if a test leaves it running, never waited for.
            self._forked.daemon = True
            self._forked.start()
            assert self._forked.pid is not None
            self.pid = self._forked.pid

    def poll(self) -> int | None:
        if self.returncode is None:
            if self._popen is not None:
                self.returncode = self._popen.poll()
            else:
                assert self._forked is not None
                self.returncode = self._forked.exitcode
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if self._popen is not None:
            self.returncode = self._popen.wait(timeout)
            return self.returncode
        assert self._forked is not None
        self._forked.join(timeout)
        if self.poll() is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start(
    args: list[str], env: dict[str, str], output: Path, errors: Path | None = None
) -> Process:
    """``python -m parley.cli *args`` with exactly ``env``; its output appended to ``output``
    (its errors too, unless ``errors`` is given)."""
    return Process(args, env, output, errors)
