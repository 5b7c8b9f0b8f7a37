"""``parley visitors export``: an access request's copy of everything stored about a visitor."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from parley.cli_common import settings_from, with_core
from parley.domain.audit import OPERATOR
from parley.evidence import access_html
from parley.service import access


def cmd_visitors_export(args: argparse.Namespace) -> int:
    copy = with_core(
        settings_from(args),
        lambda core: access.export(core, args.visitor_id, OPERATOR, args.format),
    )
    text = access_html.render(copy) if args.format == "html" else json.dumps(copy, indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add these subcommands to the ``parley`` parser."""
    visitors = commands.add_parser("visitors", help="answer a visitor's requests about their data")
    visitor_commands = visitors.add_subparsers(dest="visitors_command", required=True)
    export = visitor_commands.add_parser(
        "export",
        parents=[common],
        help="everything stored about one visitor (GDPR Art. 15), audited",
    )
    export.add_argument("visitor_id")
    export.add_argument(
        "--format",
        choices=access.FORMATS,
        default="json",
        help="json: parley-access/1 for programs; html: a page for the visitor to read",
    )
    export.add_argument("--output", "-o", help="write to this file instead of standard output")
    export.set_defaults(run=cmd_visitors_export)
