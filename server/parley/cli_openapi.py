"""``parley openapi``: the HTTP API's OpenAPI 3.1 description, as JSON or as docs/api.md."""

from __future__ import annotations

import argparse
import json
from typing import Any

from parley.config import Settings
from parley.web.app import create_app
from parley.web.openapi import document
from parley.web.openapi_markdown import render


def cmd_openapi(args: argparse.Namespace) -> int:
    described = document(create_app(Settings.from_env()).app.routes)
    if args.markdown:
        print(render(described), end="")
    else:
        print(json.dumps(described, indent=2, ensure_ascii=False))
    return 0


def register(commands: Any) -> None:
    openapi = commands.add_parser(
        "openapi",
        help="print the HTTP API's OpenAPI 3.1 description (what GET /openapi.json answers)",
    )
    openapi.add_argument(
        "--markdown", action="store_true", help="as Markdown: the text of docs/api.md"
    )
    openapi.set_defaults(run=cmd_openapi)
