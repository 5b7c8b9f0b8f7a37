"""What the ``parley`` subcommands share: settings from flags, and a core for one command."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from parley.config import Settings, parse_address, parse_list, parse_networks, parse_seconds
from parley.logs import LogFormat, LogLevel
from parley.service.core import Core
from parley.web.app import start_core

T = TypeVar("T")


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        data_dir=args.data_dir,
        store_url=args.store,
        policies_dir=args.policies,
        allowed_origins=parse_list(args.allowed_origins)
        if getattr(args, "allowed_origins", None)
        else None,
        trusted_proxies=parse_networks(args.trusted_proxies)
        if getattr(args, "trusted_proxies", None)
        else None,
        webhook_timeout=_seconds(args, "webhook_timeout"),
        webhook_retry_base=_seconds(args, "webhook_retry_base"),
        metrics_address=_metrics_address(getattr(args, "metrics_address", None)),
        log_format=LogFormat(args.log_format) if getattr(args, "log_format", None) else None,
        log_level=LogLevel(args.log_level) if getattr(args, "log_level", None) else None,
    )


def _seconds(args: argparse.Namespace, name: str) -> float | None:
    """The ``--<name>`` flag of ``parley serve`` as seconds; ValueError naming the flag."""
    raw = getattr(args, name, None)
    if raw is None:
        return None
    try:
        return parse_seconds(raw)
    except ValueError as e:
        raise ValueError(f"--{name.replace('_', '-')} {raw!r}: {e}") from None


def _metrics_address(flag: str | None) -> tuple[str, int] | None:
    try:
        return None if flag is None else parse_address(flag)
    except ValueError as e:
        raise ValueError(f"--metrics-address {flag!r}: {e}") from None


def with_core(settings: Settings, work: Callable[[Core], Awaitable[T]]) -> T:
    async def run() -> T:
        core = await start_core(settings)
        try:
            return await work(core)
        finally:
            await core.store.close()

    return asyncio.run(run())


def add_public_key(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """``--public-key``: the operator's published Ed25519 key, for the offline checks."""
    parser.add_argument(
        "--public-key",
        required=required,
        help="the operator's published key: base64, PEM, or a file with either",
    )
