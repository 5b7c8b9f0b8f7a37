"""``parley witness serve|key`` and ``parley log monitor``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import httpx

from parley import keys
from parley.domain.note import VerifierKey
from parley.witness.monitor import Monitor, parse_log_key
from parley.witness.protocol import Witness


def _witness(args: argparse.Namespace) -> Witness:
    key, created = keys.load_or_create(args.key)
    if created:
        print(f"created witness key {args.key}", file=sys.stderr)
    return Witness.configure(args.name, key, getattr(args, "log", None) or [])


def cmd_witness_key(args: argparse.Namespace) -> int:
    print(_witness(args).verifier_key)
    return 0


def cmd_witness_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from parley.witness.server import create_app
    from parley.witness.state import WitnessState

    witness = _witness(args)
    state = WitnessState(args.state)
    print(
        f"witness {witness.verifier_key}\n"
        f"  on http://{args.host}:{args.port}/add-checkpoint, state in {args.state}\n"
        + "".join(f"  follows {k}\n" for ks in witness.logs.values() for k in ks),
        end="",
        flush=True,
    )
    try:
        uvicorn.run(create_app(witness, state), host=args.host, port=args.port, log_level="info")
    finally:
        state.close()
    return 0


def cmd_log_monitor(args: argparse.Namespace) -> int:
    witnesses = [VerifierKey.parse(k) for k in args.witness or []]
    quorum = len(witnesses) if args.quorum is None else args.quorum
    if quorum > len(witnesses):
        raise ValueError(f"a quorum of {quorum} needs as many --witness keys")
    monitor = Monitor(args.url, parse_log_key(args.public_key), witnesses, quorum, args.state)

    async def follow() -> int:
        async with httpx.AsyncClient(timeout=args.timeout) as http:
            while True:
                report = await monitor.check(http)
                print(report.message, flush=True)
                if args.once:
                    return report.verdict.value
                await asyncio.sleep(args.interval)

    return asyncio.run(follow())


def register(commands: Any) -> None:
    """Add these subcommands to the ``parley`` parser."""
    witness = commands.add_parser("witness", help="run a c2sp.org/tlog-witness for Parley logs")
    witness_commands = witness.add_subparsers(dest="witness_command", required=True)
    identity = argparse.ArgumentParser(add_help=False)
    identity.add_argument(
        "--key", type=Path, required=True, help="the witness's Ed25519 key (PEM; made if missing)"
    )
    identity.add_argument(
        "--name", required=True, help="the witness's name, a URL without scheme: witness.example/w1"
    )
    key = witness_commands.add_parser(
        "key", parents=[identity], help="print the witness's verifier key for logs and verifiers"
    )
    key.set_defaults(run=cmd_witness_key)
    serve = witness_commands.add_parser("serve", parents=[identity], help="run the witness")
    serve.add_argument(
        "--log",
        action="append",
        required=True,
        help="a log's verifier key, origin+id+base64(0x01||key); repeat for more",
    )
    serve.add_argument("--state", type=Path, required=True, help="the witness's SQLite file")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    serve.set_defaults(run=cmd_witness_serve)

    log = commands.add_parser("log", help="follow a Parley server's transparency log")
    log_commands = log.add_subparsers(dest="log_command", required=True)
    monitor = log_commands.add_parser(
        "monitor",
        help="check each checkpoint against the last; exit 1 if inconsistent (with --once), "
        "2 if it could not be checked",
    )
    monitor.add_argument("url", help="the Parley server's base URL")
    monitor.add_argument(
        "--public-key",
        required=True,
        help="the log's key: a verifier key origin+id+base64, or base64, PEM, or a file of either",
    )
    monitor.add_argument(
        "--witness", action="append", help="a witness's verifier key whose cosignature to require"
    )
    monitor.add_argument(
        "--quorum", type=int, help="how many of the --witness keys must cosign (all of them)"
    )
    monitor.add_argument("--state", type=Path, help="JSON file of what the monitor has checked")
    monitor.add_argument("--interval", type=float, default=60, help="seconds between checks (60)")
    monitor.add_argument("--timeout", type=float, default=30, help="HTTP timeout in seconds (30)")
    monitor.add_argument("--once", action="store_true", help="check once and exit")
    monitor.set_defaults(run=cmd_log_monitor)
