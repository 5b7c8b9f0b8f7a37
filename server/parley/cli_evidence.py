"""``parley keys``, ``parley evidence export|verify`` and ``parley audit list|verify``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm

from parley import keys
from parley.cli_common import add_public_key, settings_from, with_core
from parley.config import Settings
from parley.domain import note, receipt
from parley.domain.anchor import key_id, log_verifier_key
from parley.domain.audit import OPERATOR
from parley.evidence import verify as verifier
from parley.evidence.html import render
from parley.evidence.receipts import UnreadableBundle, against_bundle
from parley.service import compliance, evidence
from parley.service.core import Core

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def cmd_keys(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    path = settings.signing_key
    key, created = keys.load_or_create(path)
    print(f"{'created' if created else 'using'} signing key {path}")
    print(keys.describe(key), end="")
    print(f"log verifier key: {log_verifier_key(settings.log_origin, key)}")
    print("Publish the public key where anyone checking your evidence can find it,")
    print("and give the log verifier key to the witnesses and monitors of your log.")
    _pdf_keys(settings)
    return 0


def _pdf_keys(settings: Settings) -> None:
    """Create the self-signed PDF signing pair in DATA_DIR unless one is configured or there."""
    from parley.evidence import pdf  # WeasyPrint and pyHanko: a second to import, paid here only

    cert, key = settings.pdf_signing
    if settings.pdf_cert or settings.pdf_key:
        print(f"PDF evidence is signed with {cert} (PARLEY_PDF_CERT) and {key} (PARLEY_PDF_KEY)")
        return
    created = pdf.create_self_signed(cert, key, "Parley evidence (self-signed)")
    print(
        f"{'created' if created else 'using'} self-signed PDF signing certificate {cert}\n"
        f"  and its key {key} (mode 0600)\n"
        f"  certificate SHA-256 fingerprint: {pdf.signing(settings).fingerprint}\n"
        "  For evidence you show others, set PARLEY_PDF_CERT and PARLEY_PDF_KEY to a "
        "certificate they trust."
    )


def cmd_evidence_export(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    if args.format == "pdf":
        return _export_pdf(args, settings)
    bundle = with_core(settings, lambda core: evidence.export(core, args.conversation_id, OPERATOR))
    text = render(bundle) if args.format == "html" else json.dumps(bundle, indent=2) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _export_pdf(args: argparse.Namespace, settings: Settings) -> int:
    from parley.evidence import pdf  # WeasyPrint and pyHanko: a second to import, paid here only

    # The certificate is loaded before the export is audited: without one, nothing changes.
    signing = pdf.signing(settings)

    async def work(core: Core) -> bytes:
        bundle = await evidence.export(core, args.conversation_id, OPERATOR)
        return await pdf.export(bundle, signing)

    document = with_core(settings, work)
    if args.output:
        Path(args.output).write_bytes(document)
        print(f"wrote {args.output} (signed by certificate {signing.fingerprint})", file=sys.stderr)
    else:
        sys.stdout.buffer.write(document)
    return 0


def cmd_evidence_verify(args: argparse.Namespace) -> int:
    try:
        bundle = json.loads(Path(args.bundle).read_text(encoding="utf-8"))
        public_key = keys.parse_public_key(args.public_key) if args.public_key else None
        witnesses = [note.VerifierKey.parse(w) for w in args.witness]
        tsa_certs = [Path(c).read_bytes() for c in args.tsa_cert]
    except (OSError, ValueError) as e:
        print(f"parley: cannot read: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    if not isinstance(bundle, dict):
        print("parley: the bundle is not a JSON object", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.quorum is not None and not 1 <= args.quorum <= len(witnesses):
        print(f"parley: --quorum must be 1 to {len(witnesses)} (the witnesses)", file=sys.stderr)
        return EXIT_UNREADABLE
    if any(w.sig_type != note.COSIGNATURE_V1 for w in witnesses):
        print("parley: a --witness key must be a cosignature/v1 (0x04) key", file=sys.stderr)
        return EXIT_UNREADABLE
    report = verifier.verify(bundle, public_key, witnesses, args.quorum, tsa_certs)
    for name in report.passed:
        print(f"ok    {name}")
    if not report.ok:
        print(f"FAIL  {report.failure}")
        return EXIT_INVALID
    transcript = bundle["transcript"]
    print(
        f"VALID: conversation {bundle['conversation']['id']}, {len(transcript)} events, "
        f"anchored in a log of {bundle['anchor']['checkpoint']['tree_size']} heads"
    )
    for erased in report.erased:
        print(
            f"erased: event {erased.seq} {erased.field}, at {erased.at} by {erased.by} "
            f"({erased.basis})"
        )
    if bundle["anchor"].get("timestamp") is not None:
        checked = "by the TSA certificate given" if tsa_certs else "claimed: give --tsa-cert"
        print(f"time-stamped {verifier.stamped_at(bundle)} ({checked})")
    if report.self_signed:
        print(
            "note: the signature was checked against the key inside the bundle; pass "
            "--public-key with the operator's published key to bind it to the operator"
        )
    return EXIT_VALID


def _read_json(path: str) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def cmd_evidence_verify_receipt(args: argparse.Namespace) -> int:
    try:
        held = _read_json(args.receipt)
        public_key = keys.parse_public_key(args.public_key)
        bundle = _read_json(args.bundle) if args.bundle else None
    except (OSError, ValueError, UnsupportedAlgorithm) as e:
        print(f"parley: cannot read: {e}", file=sys.stderr)
        return EXIT_UNREADABLE
    problems = receipt.problems(held, public_key)
    for problem in problems:
        print(f"FAIL  {problem}")
    if problems:
        return EXIT_INVALID
    signed = held["receipt"]
    print(f"ok    signature by key {key_id(public_key)}")
    if bundle is not None:
        try:
            contradictions = against_bundle(signed, bundle)
        except UnreadableBundle as e:
            print(f"parley: cannot read {args.bundle}: {e}", file=sys.stderr)
            return EXIT_UNREADABLE
        for contradiction in contradictions:
            print(f"FAIL  {contradiction}")
        if contradictions:
            print(f"CONTRADICTED: the bundle does not hold event {signed['event_seq']} as received")
            return EXIT_INVALID
        print(f"ok    the bundle holds event {signed['event_seq']} exactly as received")
    print(
        f"VALID: {signed['kind']} receipt of event {signed['event_seq']} ({signed['event_type']}) "
        f"of conversation {signed['conversation_id']}, issued {signed['issued_at']}"
    )
    return EXIT_VALID


def cmd_audit_list(args: argparse.Namespace) -> int:
    async def work(core: Core) -> list[dict[str, Any]]:
        entries, cursor = [], None
        while True:
            page = await compliance.audit(core, cursor, 500, args.conversation)
            entries += page["items"]
            if (cursor := page["next_cursor"]) is None:
                return entries

    for e in with_core(settings_from(args), work):
        target = e["conversation_id"] or e["staff_id"] or ""
        print(f"{e['seq']:>6}  {e['at']}  {e['actor']['name']} ({e['actor']['role']})  "
              f"{e['action']}  {target}  {json.dumps(e['details'])}")  # fmt: skip
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    count, problem = with_core(settings_from(args), compliance.verify_audit)
    if problem:
        print(f"FAIL  {problem}")
        return EXIT_INVALID
    print(f"VALID: {count} audit entries, each linked to the one before")
    return EXIT_VALID


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add these subcommands to the ``parley`` parser."""
    key = commands.add_parser(
        "keys",
        parents=[common],
        help="create the signing key (once) and print its public key; and a self-signed "
        "certificate for signing PDF evidence, unless PARLEY_PDF_CERT is set",
    )
    key.set_defaults(run=cmd_keys)

    ev = commands.add_parser("evidence", help="export and verify evidence bundles")
    ev_commands = ev.add_subparsers(dest="evidence_command", required=True)
    export = ev_commands.add_parser("export", parents=[common], help="one conversation's bundle")
    export.add_argument("conversation_id")
    export.add_argument(
        "--format",
        choices=["json", "html", "pdf"],
        default="json",
        help="pdf: the printable record as a signed PDF/A carrying the JSON bundle",
    )
    export.add_argument("--output", "-o", help="write to this file instead of standard output")
    export.set_defaults(run=cmd_evidence_export)
    check = ev_commands.add_parser(
        "verify", help="check a JSON bundle offline; exit 0 if it holds, 1 if not, 2 if unreadable"
    )
    check.add_argument("bundle")
    add_public_key(check, required=False)
    check.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="VKEY",
        help="a witness's verifier key (name+id+base64); repeat for each witness to require",
    )
    check.add_argument(
        "--quorum", type=int, help="how many --witness keys must have cosigned (default: all)"
    )
    check.add_argument(
        "--tsa-cert",
        action="append",
        default=[],
        metavar="PEM",
        help="the time-stamping authority's CA certificate: the time stamp must verify under it",
    )
    check.set_defaults(run=cmd_evidence_verify)
    held = ev_commands.add_parser(
        "verify-receipt",
        help="check a visitor's signed receipt offline, and that a bundle holds its event; "
        "exit 0 if it holds, 1 if not, 2 if unreadable",
    )
    held.add_argument("receipt", help="the receipt file (JSON) the visitor downloaded")
    add_public_key(held)
    held.add_argument("--bundle", help="an evidence bundle (JSON) that must hold the same event")
    held.set_defaults(run=cmd_evidence_verify_receipt)

    audit = commands.add_parser("audit", help="read and check the audit trail")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    listing = audit_commands.add_parser("list", parents=[common], help="every entry, in order")
    listing.add_argument("--conversation", help="only entries about this conversation")
    listing.set_defaults(run=cmd_audit_list)
    checking = audit_commands.add_parser("verify", parents=[common], help="check the chain")
    checking.set_defaults(run=cmd_audit_verify)
