"""The signed PDF/A evidence record, over HTTP and the CLI, checked with pyHanko's validator.

One server for the module, with the self-signed PDF certificate ``parley keys``
created and the local TSA configured (PAdES B-T); fresh servers where a test needs
another configuration.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from harness import REPO, Server, api, closed_conversation, free_port, parley
from parley.evidence.verify import verify
from tsa import LocalTSA

ARTIFACTS = REPO / "test-artifacts"


async def threatened(server: Server, token: str) -> str:
    """A conversation with two messages, a reply, and a closure citing clause 1.2."""
    said = ("My parcel has not arrived after three weeks.",
            "Answer me now or I will find where you live.")  # fmt: skip
    reply = "I am sorry about the delay; threats are not acceptable."
    return await closed_conversation(server, token, "1.2", said, reply)


class Signed:
    """The module's server and what the tests check its PDFs against."""

    def __init__(self, server: Server, tsa: LocalTSA) -> None:
        self.server = server
        self.tsa = tsa
        self.agent = server.add_staff("Alice Agent", "agent")
        self.compliance = server.add_staff("Carol Compliance", "compliance")
        self.certificate = server.data_dir / "pdf-signing-cert.pem"

    def context(self) -> ValidationContext:
        """Trusting the self-signed PDF certificate and the local TSA's CA, nothing else."""
        roots = [
            load_cert_from_pemder(str(self.certificate)),
            load_cert_from_pemder(str(self.tsa.ca_file)),
        ]
        return ValidationContext(trust_roots=roots)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, local_tsa: LocalTSA) -> Iterator[Signed]:
    server = Server(tmp_path_factory.mktemp("pdf") / "data", PARLEY_TSA_URL=local_tsa.url)
    keys = server.cli("keys")
    assert keys.returncode == 0, keys.stderr
    assert "created self-signed PDF signing certificate" in keys.stdout
    yield Signed(server.start(), local_tsa)
    server.stop()


async def validate(document: bytes, context: ValidationContext) -> PdfSignatureStatus:
    """pyHanko's judgement of the one signature in ``document``."""
    reader = PdfFileReader(io.BytesIO(document))
    assert len(reader.embedded_signatures) == 1
    return await async_validate_pdf_signature(reader.embedded_signatures[0], context)


def attached_bundle(document: bytes) -> dict[str, Any]:
    """The JSON bundle the PDF carries as its associated file."""
    reader = PdfFileReader(io.BytesIO(document))
    names = reader.root["/Names"]["/EmbeddedFiles"]["/Names"]
    spec = names[1]
    assert str(spec["/AFRelationship"]) == "/Source"
    assert reader.root["/AF"][0].get_object() == spec.get_object()
    bundle: dict[str, Any] = json.loads(spec["/EF"]["/F"].get_object().data)
    return bundle


async def get_pdf(signed: Signed, conversation_id: str) -> httpx.Response:
    return await api(
        signed.server,
        f"/api/compliance/conversations/{conversation_id}/evidence?format=pdf",
        signed.compliance,
    )


async def test_pdf_over_http_is_signed_timestamped_and_carries_the_bundle(
    signed: Signed, request: pytest.FixtureRequest
) -> None:
    """PDF evidence: a PAdES B-T signature over the whole file that pyHanko judges valid, a
    TSA time stamp that validates, PDF/A-3b identification, and the bundle attached."""
    conversation_id = await threatened(signed.server, signed.agent)
    replies = signed.tsa.replies
    r = await get_pdf(signed, conversation_id)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert f'filename="evidence-{conversation_id}.pdf"' in r.headers["content-disposition"]
    document = r.content
    assert document.startswith(b"%PDF-1.7")

    status = await validate(document, signed.context())
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.modification_level.name == "NONE"
    assert status.bottom_line
    stamp = status.timestamp_validity
    assert stamp is not None, "no signature time stamp: PARLEY_TSA_URL was not used"
    assert stamp.intact and stamp.valid and stamp.trusted
    assert signed.tsa.replies > replies, "the local TSA was not asked"

    reader = PdfFileReader(io.BytesIO(document))
    xmp = reader.root["/Metadata"].get_object().data.decode()
    assert re.search(r"pdfaid:part(>|=\")3", xmp), xmp
    assert re.search(r"pdfaid:conformance(>|=\")B", xmp), xmp
    assert "/GTS_PDFA1" in str(reader.root["/OutputIntents"][0].get_object()["/S"])
    # PDF/A: each document-information entry equals its XMP property.
    info = reader.trailer_view["/Info"]
    producer = re.search(r'pdf:Producer="([^"]*)"', xmp) or re.search(
        r"<pdf:Producer>([^<]*)<", xmp
    )
    assert producer is not None and str(info["/Producer"]) == producer.group(1), xmp
    assert str(info["/Title"]) in xmp

    bundle = attached_bundle(document)
    published = (await api(signed.server, "/api/keys")).json()["public_key"]
    report = verify(bundle, base64.b64decode(published))
    assert report.ok, report.failure
    assert bundle["conversation"]["id"] == conversation_id
    assert bundle["audit"][-1]["action"] == "evidence_exported"
    assert bundle["audit"][-1]["actor"]["name"] == "Carol Compliance"

    page = await first_page(document, request.node.name)
    assert page.startswith(b"\x89PNG")


async def first_page(document: bytes, name: str) -> bytes:
    """Page 1 rendered by pdftoppm at 60 dpi, saved under test-artifacts/; checked not blank."""
    ARTIFACTS.mkdir(exist_ok=True)
    pdf = ARTIFACTS / f"{name}.pdf"
    pdf.write_bytes(document)
    process = await asyncio.create_subprocess_exec(
        "pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf),
        str(ARTIFACTS / f"{name}-page1"), stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    png = (ARTIFACTS / f"{name}-page1.png").read_bytes()
    image = Image.open(io.BytesIO(png)).convert("L")
    width, height = image.size
    assert abs(width - 496) <= 1 and abs(height - 702) <= 1, f"not A4 at 60 dpi: {image.size}"
    inked = sum(image.histogram()[:128])
    assert inked > 0.02 * width * height, f"page 1 is nearly blank: {inked} dark pixels"
    return png


async def test_one_changed_byte_is_reported_as_a_modified_document(signed: Signed) -> None:
    """PDF evidence: a byte changed inside the signed range breaks the signature's digest."""
    conversation_id = await threatened(signed.server, signed.agent)
    document = bytearray((await get_pdf(signed, conversation_id)).content)
    title = document.index(b"/Title")
    at = document.index(b"Evidence", title) + 1
    document[at] ^= 0x20  # "Evidence" -> "EVidence" in the document's title
    status = await validate(bytes(document), signed.context())
    assert not status.intact
    assert not status.bottom_line
    assert "INVALID" in status.pretty_print_details()


async def test_text_added_after_signing_is_reported(signed: Signed) -> None:
    """PDF evidence: a later revision that writes on page 1 leaves the signature intact but
    no longer covering the file, and the validator judges the document modified."""
    conversation_id = await threatened(signed.server, signed.agent)
    document = (await get_pdf(signed, conversation_id)).content
    writer = IncrementalPdfFileWriter(io.BytesIO(document))
    stamp = generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 700 Td (SETTLED) Tj ET")
    writer.add_stream_to_page(0, writer.add_object(stamp))
    edited = io.BytesIO()
    writer.write(edited)
    status = await validate(edited.getvalue(), signed.context())
    assert status.intact and status.valid
    assert status.coverage.name == "ENTIRE_REVISION"
    assert status.modification_level.name == "OTHER"
    assert not status.bottom_line


async def test_cli_exports_the_same_signed_pdf(signed: Signed, tmp_path: Path) -> None:
    """PDF evidence: ``parley evidence export ID --format pdf -o FILE`` writes a PDF that
    validates; ``pyhanko sign validate`` (docs/compliance.md) judges it VALID."""
    conversation_id = await threatened(signed.server, signed.agent)
    out = tmp_path / "evidence.pdf"
    result = await asyncio.to_thread(
        signed.server.cli, "evidence", "export", conversation_id, "--format", "pdf", "-o", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stderr
    document = out.read_bytes()
    status = await validate(document, signed.context())
    assert status.bottom_line and status.coverage.name == "ENTIRE_FILE"
    assert status.timestamp_validity is not None and status.timestamp_validity.valid
    assert attached_bundle(document)["generated_by"]["role"] == "operator"

    command = [
        str(Path(sys.executable).parent / "pyhanko"), "sign", "validate", "--pretty-print",
        "--trust", str(signed.certificate), "--trust", str(signed.tsa.ca_file),
        "--trust-replace", "--no-revocation-check", str(out),
    ]  # fmt: skip
    checked = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "The signature is judged VALID." in checked.stdout
    assert "The signature covers the entire file." in checked.stdout


async def test_an_unknown_conversation_is_a_typed_404(signed: Signed) -> None:
    """Bad input: a PDF of no conversation is 404 not_found, like the JSON bundle."""
    r = await get_pdf(signed, "c_nobody")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


async def test_without_a_certificate_the_pdf_is_refused_and_nothing_is_audited(
    make_server: Callable[..., Server],
) -> None:
    """PDF evidence: no certificate configured or created is a typed 409 that says how to
    get one (HTTP) or exit 1 naming the code (CLI); the export is not even audited."""
    server = make_server().start()
    agent_token = server.add_staff("Alice Agent", "agent")
    compliance = server.add_staff("Carol Compliance", "compliance")
    conversation_id = await threatened(server, agent_token)
    audit = f"/api/compliance/audit?conversation_id={conversation_id}"
    before = (await api(server, audit, compliance)).json()["items"]

    r = await api(
        server, f"/api/compliance/conversations/{conversation_id}/evidence?format=pdf", compliance
    )
    assert r.status_code == 409
    error = r.json()["error"]
    assert error["code"] == "pdf_signing_unconfigured"
    assert "parley keys" in error["message"] and "PARLEY_PDF_CERT" in error["message"]

    result = await asyncio.to_thread(
        server.cli, "evidence", "export", conversation_id, "--format", "pdf", "-o", "x.pdf"
    )
    assert result.returncode == 1
    assert result.stderr.startswith("parley: pdf_signing_unconfigured: no certificate")
    assert (await api(server, audit, compliance)).json()["items"] == before


async def test_a_key_that_is_not_the_certificates_is_refused(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    """PDF evidence: PARLEY_PDF_KEY must be the key of PARLEY_PDF_CERT; a typed 409 says so."""
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        made = parley("keys", "--data-dir", str(folder))
        assert made.returncode == 0, made.stderr
    server = make_server(
        PARLEY_PDF_CERT=str(first / "pdf-signing-cert.pem"),
        PARLEY_PDF_KEY=str(second / "pdf-signing-key.pem"),
    ).start()
    compliance = server.add_staff("Carol Compliance", "compliance")
    agent_token = server.add_staff("Alice Agent", "agent")
    conversation_id = await threatened(server, agent_token)
    r = await api(
        server, f"/api/compliance/conversations/{conversation_id}/evidence?format=pdf", compliance
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "pdf_signing_unconfigured"
    assert "is not the key of the certificate" in r.json()["error"]["message"]


@pytest.mark.parametrize("tsa", ["down", "garbage"])
async def test_a_tsa_that_fails_fails_the_export_with_a_typed_error(
    make_server: Callable[..., Server], local_tsa: LocalTSA, tsa: str
) -> None:
    """PDF evidence: with PARLEY_TSA_URL set, no PDF leaves without its time stamp: a TSA that
    does not answer, or answers no TimeStampResp, is 503 timestamp_unavailable, never a 500
    or an unstamped PDF."""
    url = f"http://127.0.0.1:{free_port()}/" if tsa == "down" else local_tsa.url + "garbage"
    server = make_server(PARLEY_TSA_URL=url)
    assert server.cli("keys").returncode == 0
    server.start()
    compliance = server.add_staff("Carol Compliance", "compliance")
    agent_token = server.add_staff("Alice Agent", "agent")
    conversation_id = await threatened(server, agent_token)
    r = await api(
        server, f"/api/compliance/conversations/{conversation_id}/evidence?format=pdf", compliance
    )
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "timestamp_unavailable"
    assert "the PDF was not signed" in r.json()["error"]["message"]


def test_parley_keys_makes_the_pdf_key_private_and_keeps_it(tmp_path: Path) -> None:
    """``parley keys``: the PDF signing key is mode 0600, made once, and reported where it is."""
    first = parley("keys", "--data-dir", str(tmp_path))
    assert first.returncode == 0, first.stderr
    key = tmp_path / "pdf-signing-key.pem"
    assert f"created self-signed PDF signing certificate {tmp_path / 'pdf-signing-cert.pem'}" in (
        first.stdout
    )
    assert str(key) in first.stdout
    assert key.stat().st_mode & 0o777 == 0o600
    made = key.read_bytes()
    again = parley("keys", "--data-dir", str(tmp_path))
    assert "using self-signed PDF signing certificate" in again.stdout
    assert key.read_bytes() == made


def test_parley_keys_leaves_a_configured_certificate_alone(tmp_path: Path) -> None:
    """``parley keys``: with PARLEY_PDF_CERT and PARLEY_PDF_KEY set, it creates no self-signed
    pair and says which files sign PDF evidence."""
    cert, key = tmp_path / "org-cert.pem", tmp_path / "org-key.pem"
    env = {"PARLEY_PDF_CERT": str(cert), "PARLEY_PDF_KEY": str(key)}
    result = parley("keys", "--data-dir", str(tmp_path / "data"), env=env)
    assert result.returncode == 0, result.stderr
    assert f"PDF evidence is signed with {cert} (PARLEY_PDF_CERT) and {key}" in result.stdout
    assert not (tmp_path / "data" / "pdf-signing-cert.pem").exists()
    assert not cert.exists() and not key.exists()
