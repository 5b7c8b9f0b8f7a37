"""``parley retention sweep``: erase what is past its retention period, or list it."""

from __future__ import annotations

import argparse
from typing import Any

from parley.cli_common import settings_from, with_core
from parley.service import retention


def cmd_retention_sweep(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if not settings.retention.enabled:
        print("retention is off (PARLEY_RETENTION is not set): everything is kept")
        return 0
    run = retention.dry_run if args.dry_run else retention.sweep
    report = with_core(settings, lambda core: run(core, settings.retention))
    if not report.ran:
        print("another process is sweeping now: nothing done")
        return 0
    for c in report.classes:
        if args.dry_run:
            print(f"{c.name}: {len(c.due)} due (kept {c.period}, ended before {c.ended_before})")
            for conversation_id in c.due:
                print(f"  {conversation_id}")
        else:
            held = f", {len(c.held)} held since selected" if c.held else ""
            print(f"{c.name}: {len(c.erased)} erased (kept {c.period}){held}")
    if args.dry_run:
        print("dry run: nothing was erased")
    elif not report.complete:
        print("the lease passed to another process part way: it erases the rest")
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``parley retention`` to the ``parley`` parser."""
    kept = commands.add_parser("retention", help="erase personal data past its retention period")
    retention_commands = kept.add_subparsers(dest="retention_command", required=True)
    sweep = retention_commands.add_parser(
        "sweep", parents=[common], help="erase what PARLEY_RETENTION says is due (audited)"
    )
    sweep.add_argument(
        "--dry-run", action="store_true", help="list what is due, by class; change nothing"
    )
    sweep.set_defaults(run=cmd_retention_sweep)
