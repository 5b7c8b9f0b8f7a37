"""``parley widget snippet``: the tag that embeds the widget this server serves."""

from __future__ import annotations

import argparse
from typing import Any

from parley import widget_files
from parley.config import Settings
from parley.domain.widget import snippet


def cmd_widget_snippet(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    base = args.url or f"http://{host}:{settings.port}"
    print(snippet(widget_files.load_build(settings.widget_dir), base, pinned=args.pinned))
    return 0


def register(commands: Any) -> None:
    widget = commands.add_parser("widget", help="the embeddable widget")
    widget_commands = widget.add_subparsers(dest="widget_command", required=True)
    snip = widget_commands.add_parser(
        "snippet",
        help="print the tag that embeds the widget (PARLEY_WIDGET_DIR's widget.js)",
    )
    snip.add_argument(
        "--url", help="the server's address, e.g. https://chat.example.com (PARLEY_HOST:PORT)"
    )
    snip.add_argument(
        "--pinned",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="this exact build, with Subresource Integrity (default); --no-pinned: /widget.js",
    )
    snip.set_defaults(run=cmd_widget_snippet)
