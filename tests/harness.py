"""Real parts for end-to-end tests: a Parley server in a subprocess, and WebSocket clients.

Nothing here is a fake: the server is ``parley serve`` on a free port with its
own SQLite file, staff tokens come from the ``parley agents add`` CLI, and
clients speak the protocol over real sockets.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import redis
from websockets.asyncio.client import ClientConnection, connect

import launcher

REPO = Path(__file__).resolve().parent.parent
POLICIES = REPO / "policies"
RECV_TIMEOUT = 10.0

#: What the fuzz tests sent in this run, printed at its end (see conftest.py).
SENT: collections.Counter[str] = collections.Counter()

# A file path or a Python traceback in an error frame leaks the server's insides.
LEAKS = re.compile(r"Traceback|File \"|\.py\b|/work/|site-packages|/tmp/|/usr/")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(port: int, within: float = 20) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port`` within ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        time.sleep(0.05)
    return False


def parley(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real ``parley`` CLI (in a process of its own: see launcher.py)."""
    with tempfile.TemporaryDirectory(prefix="parley-cli-") as folder:
        output, errors = Path(folder) / "stdout", Path(folder) / "stderr"
        proc = launcher.start([*args], {**os.environ, **(env or {})}, output, errors)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        assert proc.returncode is not None
        return subprocess.CompletedProcess(
            [*args], proc.returncode, output.read_text(), errors.read_text()
        )


def wait_until_serving(
    proc: subprocess.Popen[str] | launcher.Process, url: str, log: Path, what: str
) -> None:
    """Wait (30 s at most) until ``url`` answers 200; raise with the process's output if not."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start:\n{log.read_text()}")


class Server:
    """``parley serve`` in a subprocess, on a free port, with its own data folder."""

    def __init__(self, data_dir: Path, policies: Path = POLICIES, **env: str) -> None:
        self.data_dir = data_dir
        self.policies = policies
        self.port = free_port()
        # Tests share 127.0.0.1 and send fast: flooding limits apply only where a test sets them.
        self.env = {
            "PARLEY_MESSAGES_PER_MINUTE": "100000",
            "PARLEY_CONVERSATIONS_PER_HOUR": "100000",
            **env,
        }
        self.proc: launcher.Process | None = None
        self.log = data_dir / f"server-{self.port}.log"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The CLI on this server's data: same folder, policies, store and key settings."""
        common = ("--data-dir", str(self.data_dir), "--policies", str(self.policies))
        return parley(*args, *common, env=self.env)

    def add_staff(self, name: str, role: str) -> str:
        """Create a staff member with the CLI; return the token it printed."""
        result = self.cli("agents", "add", name, "--role", role)
        assert result.returncode == 0, result.stderr
        return result.stdout.split("token (shown once, store it now): ")[1].strip()

    def start(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = ["serve", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        args += ["--policies", str(self.policies)]
        env = {**os.environ, "PARLEY_WIDGET_DIR": str(REPO / "widget"), **self.env}
        self.proc = launcher.start(args, env, self.log)
        wait_until_serving(self.proc, f"{self.http}/healthz", self.log, "server")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill(self) -> None:
        """``kill -9``: no shutdown, no flush, nothing but what was committed survives."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None


class Shop:
    """A web site of its own (its own origin) whose page embeds a Parley server's widget."""

    def __init__(
        self, parley: Server, attributes: str = "", before: str = "", embed: str | None = None
    ) -> None:
        """``attributes``: more of the widget's script tag (``data-lang="fr"``); ``before``: HTML
        the page has before it (say a script setting ``window.ParleyStrings``); ``embed``: the
        whole tag instead (HTML, e.g. what ``parley widget snippet`` prints)."""
        tag = embed or f'<script src="{parley.http}/widget.js" {attributes} defer></script>'
        page = (
            '<!doctype html><html lang="en"><title>Shop</title><main><h1>Shop</h1></main>'
            f"{before}{tag}</html>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


async def api(server: Server, path: str, token: str | None = None) -> httpx.Response:
    """GET ``path`` from the server's HTTP API, with a bearer token if given."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=server.http, timeout=30) as http:
        return await http.get(path, headers=headers)


async def conversation_record(server: Server, token: str, conversation_id: str) -> dict[str, Any]:
    """The compliance record of a conversation: acceptance, transcript, closure."""
    r = await api(server, f"/api/compliance/conversations/{conversation_id}", token)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def summary(events: list[dict[str, Any]]) -> list[tuple[int, str, str | None, str | None]]:
    """(seq, type, client id, message text) of each event; text only for messages."""
    return [
        (e["seq"], e["type"], e["client_id"], e["data"]["text"] if e["type"] == "message" else None)
        for e in events
    ]


def assert_clean(error: dict[str, Any]) -> None:
    """An error frame is typed and says nothing of the server's code or files."""
    assert error["type"] == "error"
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and error["message"]
    assert not LEAKS.search(json.dumps(error)), error


class RedisServer:
    """A real ``redis-server`` on a free port, persisting with AOF and fsync on every write."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder)]
        args += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        with (self.folder / "redis.log").open("ab") as log:
            self.proc = subprocess.Popen(["redis-server", *args], stdout=log, stderr=log)
        if not listening(self.port):
            raise RuntimeError("redis-server did not start")
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        self.proc = None

    def flush(self) -> None:
        with redis.Redis(port=self.port) as r:
            r.flushall()


def two_processes(
    make_server: Callable[..., Server], redis: RedisServer, tmp: Path, **env: str
) -> tuple[Server, Server]:
    """Processes A and B started on ``redis`` (flushed first), sharing the signing key as a
    deployment would; ``env``: more settings for both."""
    redis.flush()
    shared = {"PARLEY_STORE": redis.url, "PARLEY_SIGNING_KEY": str(tmp / "key.pem"), **env}
    a, b = (make_server(data_dir=tmp / name, **shared).start() for name in ("a", "b"))
    return a, b


class Client:
    """A protocol client on one WebSocket: send frames, wait for frames of a type."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        await self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def recv(self, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.seen.append(frame)
        return frame

    async def expect(self, type: str, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
        """The next frame of ``type``, skipping others; fail on timeout."""
        return await self.expect_any(type, timeout=timeout)

    async def expect_any(self, *types: str, timeout: float = RECV_TIMEOUT) -> dict[str, Any]:
        """The next frame of one of ``types``, skipping others; fail after ``timeout`` seconds
        in all (however long each frame takes: a quiet spell may be what is awaited)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.recv(timeout)
                if frame["type"] in types:
                    return frame

    async def events_until_caught_up(self) -> list[dict[str, Any]]:
        events = []
        while (frame := await self.recv())["type"] != "caught_up":
            if frame["type"] == "event":
                events.append(frame["event"])
        return events

    async def barrier(self) -> list[dict[str, Any]]:
        """Send a ``ping``; return every frame that arrived before its ``pong``.

        The server answers one connection's frames in order, each before reading
        the next (docs/protocol.md §1): once the pong is here, every frame sent
        before the ping has had its answer, so what came before the pong is all
        that was sent in answer. No waiting "long enough" to see nothing came.
        """
        await self.send({"type": "ping"})
        frames = []
        while (frame := await self.recv())["type"] != "pong":
            frames.append(frame)
        return frames

    async def quiet(self, seconds: float) -> list[dict[str, Any]]:
        """Every frame that arrives within ``seconds``.

        Only for waiting on what no barrier can order: news from another
        process, whose bus may be down. To show that nothing else was sent in
        answer, use :meth:`barrier`.
        """
        frames = []
        with contextlib.suppress(TimeoutError):
            while True:
                frames.append(await self.recv(timeout=seconds))
        return frames


@contextlib.asynccontextmanager
async def client(url: str, **kwargs: Any) -> AsyncIterator[Client]:
    async with connect(url, open_timeout=10, **kwargs) as ws:
        yield Client(ws)


class Visitor(Client):
    """A visitor that has said hello and kept its token and offered policy."""

    visitor_id: str
    token: str
    policy: dict[str, Any]

    async def hello(self, **frame: Any) -> dict[str, Any]:
        await self.send({"type": "hello", **frame})
        welcome = await self.expect("welcome")
        self.visitor_id = welcome["visitor_id"]
        # A new visitor is issued a token; one that said hello with its token keeps it.
        self.token = welcome["token"] if "token" in welcome else frame["token"]
        return welcome

    async def accept(self, **frame: Any) -> str:
        """Accept the next policy offered (``frame``: more accept fields); return the
        new conversation id."""
        return await self.accept_offer(await self.expect("policy"), **frame)

    async def accept_offer(self, offer: dict[str, Any], **frame: Any) -> str:
        """Accept ``offer`` (a policy frame already received); return the conversation id."""
        self.policy = offer
        await self.send(
            {
                "type": "accept",
                "policy_id": self.policy["policy_id"],
                "version": self.policy["version"],
                "sha256": self.policy["sha256"],
                **frame,
            }
        )
        accepted = await self.expect("accepted")
        await self.expect("caught_up")
        return str(accepted["conversation"]["id"])

    async def say(self, text: str, client_id: str) -> dict[str, Any]:
        await self.send({"type": "message", "client_id": client_id, "text": text})
        return await self.expect("ack")


@contextlib.asynccontextmanager
async def visitor(
    server: Server, headers: dict[str, str] | None = None, **hello: Any
) -> AsyncIterator[Visitor]:
    """A visitor that has said hello; ``headers`` go on the upgrade (e.g. X-Forwarded-For)."""
    async with connect(
        f"{server.ws}/ws/visitor", open_timeout=10, additional_headers=headers
    ) as ws:
        v = Visitor(ws)
        await v.hello(**hello)
        yield v


@contextlib.asynccontextmanager
async def agent(server: Server, token: str, **hello: Any) -> AsyncIterator[Client]:
    """An agent console that has said hello (with ``hello``'s options) and had its list."""
    async with connect(f"{server.ws}/ws/agent", open_timeout=10) as ws:
        a = Client(ws)
        await a.send({"type": "hello", "token": token, **hello})
        await a.expect("welcome")
        await a.expect("conversations")
        yield a


@contextlib.asynccontextmanager
async def joined(
    server: Server, token: str, agent_server: Server | None = None
) -> AsyncIterator[tuple[Visitor, Client, str]]:
    """A visitor who accepted on ``server``, and an agent (``token``, on ``agent_server`` if
    given) who joined that conversation and read its events up to ``caught_up``: the visitor,
    the agent, the conversation id."""
    async with visitor(server) as v, agent(agent_server or server, token) as a:
        conversation_id = await v.accept()
        await a.send({"type": "join", "conversation_id": conversation_id})
        await a.expect("caught_up")
        yield v, a, conversation_id


def merge(listed: dict[str, dict[str, Any]], item: dict[str, Any]) -> None:
    """Apply one ``conversation_updates`` item of a delta console (docs/protocol.md §6.3)."""
    if item.get("state", "open") != "open":
        listed.pop(item["id"], None)
    elif "visitor_id" in item:
        listed[item["id"]] = dict(item)
    else:
        listed[item["id"]].update(item)


async def closed_conversation(
    server: Server,
    token: str,
    clause: str,
    said: Sequence[str] = ("this is unacceptable",),
    reply: str = "I am sorry about this.",
    **hello: Any,
) -> str:
    """A conversation with the visitor's messages ``said``, a reply, and a closure citing
    ``clause``."""
    async with visitor(server, **hello) as v:
        conversation_id = await v.accept()
        for n, text in enumerate(said, 1):
            await v.say(text, f"m{n}")
        async with agent(server, token) as a:
            await a.send({"type": "join", "conversation_id": conversation_id})
            await a.expect("caught_up")
            await a.send(
                {"type": "reply", "conversation_id": conversation_id, "client_id": "r1",
                 "text": reply}
            )  # fmt: skip
            await a.expect("ack")
            await a.send({"type": "close", "conversation_id": conversation_id, "clause_id": clause})
            await a.expect("done")
    return conversation_id
