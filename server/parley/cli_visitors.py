"""``parley visitors``: a visitor's requests about their data — ``export`` (an access
request's copy), ``erase`` (erasure on request, with its signed certificate) and
``verify-certificate`` (checking such a certificate offline)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm

from parley import keys
from parley.cli_common import add_public_key, settings_from, with_core
from parley.domain import certificate
from parley.domain.anchor import key_id
from parley.domain.audit import OPERATOR
from parley.evidence import access_html
from parley.service import access, erasure_request

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


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


def cmd_visitors_erase(args: argparse.Namespace) -> int:
    signed = with_core(
        settings_from(args),
        lambda core: erasure_request.erase_visitor(core, args.visitor_id, args.basis, OPERATOR),
    )
    text = json.dumps(signed, indent=2, ensure_ascii=False) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    body = signed["certificate"]
    erased = sum(len(c["erased"]) for c in body["conversations"])
    print(
        f"erased: {erased} events in {len(body['conversations'])} conversations; "
        f"{len(body['held'])} held (untouched); {len(body['bars'])} bars",
        file=sys.stderr,
    )
    return 0


def cmd_visitors_verify_certificate(args: argparse.Namespace) -> int:
    try:
        held = json.loads(Path(args.certificate).read_text(encoding="utf-8"))
        public_key = keys.parse_public_key(args.public_key)
        bundle = json.loads(Path(args.bundle).read_text(encoding="utf-8")) if args.bundle else None
    except (OSError, ValueError, UnsupportedAlgorithm) as e:
        print(f"parley: cannot read: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    problems = certificate.problems(held, public_key)
    for problem in problems:
        print(f"FAIL  {problem}")
    if problems:
        return EXIT_INVALID
    signed = held["certificate"]
    print(f"ok    signature by key {key_id(public_key)}")
    if bundle is not None:
        transcript = bundle.get("transcript") if isinstance(bundle, dict) else None
        if not isinstance(transcript, list) or not all(isinstance(e, dict) for e in transcript):
            print(f"parley: cannot read {args.bundle}: no transcript", file=sys.stderr)
            return EXIT_UNREADABLE
        contradictions = certificate.contradictions(signed, transcript)
        for contradiction in contradictions:
            print(f"FAIL  {contradiction}")
        if contradictions:
            print("CONTRADICTED: the bundle does not hold the erasure as certified")
            return EXIT_INVALID
        print(f"ok    the bundle of {transcript[0].get('conversation_id')} holds the erasure")
    print(
        f'VALID: erasure of visitor {signed["visitor_id"]} under "{signed["basis"]}", '
        f"by {signed['erased_by']['name']} at {signed['issued_at']}: "
        f"{len(signed['conversations'])} conversations erased, {len(signed['held'])} held"
    )
    return EXIT_VALID


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
    erase = visitor_commands.add_parser(
        "erase",
        parents=[common],
        help="erase a visitor's personal data everywhere a legal hold allows (GDPR Art. 17), "
        "audited; prints the signed erasure certificate",
    )
    erase.add_argument("visitor_id")
    erase.add_argument(
        "--basis", required=True, help="why: the request or legal ground (1 to 500 characters)"
    )
    erase.add_argument("--output", "-o", help="write the certificate to this file")
    erase.set_defaults(run=cmd_visitors_erase)
    check = visitor_commands.add_parser(
        "verify-certificate",
        help="check an erasure certificate offline, and that a bundle holds what it certifies; "
        "exit 0 if it holds, 1 if not, 2 if unreadable",
    )
    check.add_argument("certificate", help="the certificate file (JSON)")
    add_public_key(check)
    check.add_argument("--bundle", help="an evidence bundle (JSON) of a certified conversation")
    check.set_defaults(run=cmd_visitors_verify_certificate)
