"""The ``parley`` command: serve, policy check|list, agents add|list, widget snippet, ..."""

from __future__ import annotations

import argparse
import logging
import logging.config
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from parley import (
    cli_evidence,
    cli_holds,
    cli_openapi,
    cli_retention,
    cli_visitors,
    cli_widget,
    cli_witness,
    logs,
    policy_files,
)
from parley.cli_common import settings_from, with_core
from parley.domain.agent import StaffRole
from parley.domain.audit import OPERATOR
from parley.errors import ParleyError, PolicyError
from parley.logs import LogFormat, LogLevel
from parley.protocol.errors import code_of
from parley.service.core import Core
from parley.web.app import create_app
from parley.web.transport import WebSocketProtocol

T = TypeVar("T")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = settings_from(args)
    log_config = logs.config(settings.log_format, settings.log_level)
    logging.config.dictConfig(log_config)
    logging.captureWarnings(True)  # a warning is a log line like any other, in its format
    app = create_app(settings)
    policy = with_core(settings, lambda core: _in_force(core))
    base = f"{settings.host}:{settings.port}"
    _tell(
        settings.log_format,
        f"Parley {policy} on http://{base}  (store: {settings.store})\n"
        f"  demo site with the widget:  http://{base}/\n"
        f"  agent console:              http://{base}/console/\n"
        f"  get an agent token:         .venv/bin/parley agents add 'Your Name' --role agent\n"
        f"  WebSockets: ws://{base}/ws/visitor and ws://{base}/ws/agent (docs/protocol.md)\n"
        f"  widget: {app.app.state.widget.build}, sha256 {app.app.state.widget.sha256}"
        " (parley widget snippet)",
    )
    if settings.metrics_address is not None:
        host, port = settings.metrics_address
        shown = f"[{host}]" if ":" in host else host
        _tell(settings.log_format, f"  metrics (no token):         http://{shown}:{port}/metrics")
    if not settings.allowed_origins and settings.host not in ("127.0.0.1", "localhost", "::1"):
        _tell(
            settings.log_format,
            f"  warning: only pages from {', '.join(settings.origins)} may open WebSockets;"
            " set PARLEY_ALLOWED_ORIGINS to the sites that embed the widget",
            logging.WARNING,
        )
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws=WebSocketProtocol,
        ws_max_size=settings.max_frame_bytes,
        ws_ping_interval=settings.ping_interval,
        ws_ping_timeout=settings.ping_interval,
        # Chat frames are small; per-connection deflate state costs far more memory than it saves.
        ws_per_message_deflate=False,
        # X-Forwarded-For is read by parley.web.clientip, from configured proxies only.
        proxy_headers=False,
        # Parley's configuration (parley.logs), not uvicorn's handlers; its access lines
        # are parley.web.requests', which leave out query strings and addresses.
        log_config=log_config,
        log_level=None,
        access_log=False,
    )
    server = uvicorn.Server(config)
    sockets = [config.bind_socket()]
    if settings.metrics_address is not None:
        # The same server on a second socket: the app tells them apart by the port.
        host, port = settings.metrics_address
        sockets.append(_listening_socket(host, port))
    server.run(sockets=sockets)
    return 0 if server.started else 3


def _listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (uvicorn listens on it); ValueError if it cannot be."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ValueError(f"PARLEY_METRICS_ADDRESS {host}:{port}: {e.strerror}") from None
    return sock


def _tell(log_format: LogFormat, text: str, level: int = logging.INFO) -> None:
    """A start-up line: printed for a person reading a terminal, or logged (stderr) when the
    logs are JSON, so that everything the server writes is then JSON."""
    if logs.chosen(log_format, sys.stderr) is LogFormat.JSON:
        logging.getLogger("parley.serve").log(level, text.strip())
    else:
        print(text, flush=True)


async def _in_force(core: Core) -> str:
    v = core.policy_in_force()
    return (
        f"serving policy {v.policy_id} v{v.version} in {', '.join(v.languages)} "
        f"(sha256 {v.sha256[:12]}...)"
    )


def cmd_policy_check(args: argparse.Namespace) -> int:
    versions = policy_files.load_folder(settings_from(args).policies_dir)
    for version in sorted(versions, key=lambda v: v.version):
        for v in (version, *version.translations):
            governs = "  (governs)" if v is version and version.translations else ""
            print(
                f"ok  {v.policy_id} v{v.version} {v.language}  effective "
                f"{v.effective:%Y-%m-%d}  sha256 {v.sha256}{governs}"
            )
    return 0


def cmd_policy_list(args: argparse.Namespace) -> int:
    async def work(core: Core) -> None:
        current = core.policy_in_force()
        for version in await core.store.policies():
            mark = "in force" if version == current else ""
            for v in (version, *version.translations):
                print(
                    f"{v.policy_id} v{v.version} {v.language}  effective "
                    f"{v.effective:%Y-%m-%dT%H:%M:%SZ}  sha256 {v.sha256}  {mark}".rstrip()
                )

    with_core(settings_from(args), work)
    return 0


def cmd_agents_add(args: argparse.Namespace) -> int:
    staff, token = with_core(
        settings_from(args), lambda core: core.add_staff(args.name, StaffRole(args.role), OPERATOR)
    )
    print(f"added {staff.role.value} {staff.name!r} ({staff.id})")
    print(f"token (shown once, store it now): {token}")
    return 0


def cmd_agents_list(args: argparse.Namespace) -> int:
    async def work(core: Core) -> None:
        for s in await core.store.staff():
            revoked = f", revoked {s.revoked_at}" if s.revoked_at else ""
            print(f"{s.id}  {s.role.value:<10}  {s.name}  (added {s.created_at}{revoked})")

    with_core(settings_from(args), work)
    return 0


def cmd_agents_revoke(args: argparse.Namespace) -> int:
    staff = with_core(settings_from(args), lambda core: core.revoke_staff(args.staff_id, OPERATOR))
    if staff is None:
        print(f"parley: no staff member {args.staff_id}", file=sys.stderr)
        return 1
    print(f"revoked {staff.role.value} {staff.name!r} ({staff.id}) at {staff.revoked_at}")
    return 0


def cmd_bans_list(args: argparse.Namespace) -> int:
    async def work(core: Core) -> None:
        now = core.clock()
        for b in await core.store.bans():
            if not (args.all or b.active(now)):
                continue
            state = "in force" if b.active(now) else ("lifted" if b.lifted_at else "expired")
            print(
                f"{b.id}  {state:<8}  visitor {b.visitor_id}  network {b.network or '-'}  "
                f"until {b.until or 'permanent'}  rule {b.clause['id']}  ({b.conversation_id})"
            )

    with_core(settings_from(args), work)
    return 0


def cmd_bans_lift(args: argparse.Namespace) -> int:
    ban = with_core(
        settings_from(args), lambda core: core.lift_ban(args.ban_id, args.reason, OPERATOR)
    )
    if ban is None:
        print(f"parley: no bar {args.ban_id}", file=sys.stderr)
        return 1
    print(f"lifted {ban.id} at {ban.lifted_at}: {ban.lift_reason}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", type=Path, help="folder of the embedded store (./data)")
    common.add_argument("--store", help="store URL, e.g. sqlite:/var/lib/parley/parley.db")
    common.add_argument("--policies", type=Path, help="folder of policy files (./policies)")

    parser = argparse.ArgumentParser(prog="parley", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="run the server")
    serve.add_argument("--host", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (8000)")
    serve.add_argument("--allowed-origins", help="comma-separated origins allowed to connect")
    serve.add_argument("--trusted-proxies", help="comma-separated proxy addresses or networks")
    serve.add_argument("--webhook-timeout", help="seconds per webhook delivery attempt (10)")
    serve.add_argument(
        "--webhook-retry-base", help="seconds before a failed webhook's first retry (5)"
    )
    serve.add_argument(
        "--metrics-address", help="HOST:PORT of a second listener serving only /metrics (unset)"
    )
    serve.add_argument(
        "--log-format", choices=list(LogFormat), help="json, text, or auto: text on a terminal"
    )
    serve.add_argument("--log-level", choices=list(LogLevel), help="least severe line (info)")
    serve.set_defaults(run=cmd_serve)

    policy = commands.add_parser("policy", help="check and list policy versions")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    check = policy_commands.add_parser("check", parents=[common], help="validate every file")
    check.set_defaults(run=cmd_policy_check)
    listing = policy_commands.add_parser("list", parents=[common], help="published versions")
    listing.set_defaults(run=cmd_policy_list)

    agents = commands.add_parser("agents", help="manage staff tokens")
    agent_commands = agents.add_subparsers(dest="agents_command", required=True)
    add = agent_commands.add_parser("add", parents=[common], help="create a staff token")
    add.add_argument("name")
    add.add_argument("--role", choices=[r.value for r in StaffRole], default="agent")
    add.set_defaults(run=cmd_agents_add)
    staff = agent_commands.add_parser("list", parents=[common], help="list staff")
    staff.set_defaults(run=cmd_agents_list)
    revoke = agent_commands.add_parser("revoke", parents=[common], help="revoke a token at once")
    revoke.add_argument("staff_id")
    revoke.set_defaults(run=cmd_agents_revoke)

    bans = commands.add_parser("bans", help="list and lift bars")
    ban_commands = bans.add_subparsers(dest="bans_command", required=True)
    ban_list = ban_commands.add_parser("list", parents=[common], help="bars in force")
    ban_list.add_argument("--all", action="store_true", help="also lifted and expired ones")
    ban_list.set_defaults(run=cmd_bans_list)
    lift = ban_commands.add_parser("lift", parents=[common], help="lift a bar (audited)")
    lift.add_argument("ban_id")
    lift.add_argument("--reason", required=True, help="why, for the audit trail")
    lift.set_defaults(run=cmd_bans_lift)

    cli_evidence.register(commands, common)
    cli_holds.register(commands, common)
    cli_openapi.register(commands)
    cli_retention.register(commands, common)
    cli_visitors.register(commands, common)
    cli_witness.register(commands)
    cli_widget.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except PolicyError as e:
        print(f"parley: policy error:\n{e}", file=sys.stderr)
        return 1
    except ParleyError as e:
        print(f"parley: {code_of(e)[0]}: {e}", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"parley: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
