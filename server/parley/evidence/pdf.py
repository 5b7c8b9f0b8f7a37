"""The evidence record as a signed PDF/A for people: what a lawyer opens in any PDF reader.

:func:`layout` prints the document of :func:`parley.evidence.html.render` with
WeasyPrint as PDF/A-3b and attaches the bundle's JSON to it (an associated file
with relationship ``Source``), so the one file carries both the readable record
and the machine-checkable bundle. :func:`sign` adds a PAdES baseline signature
with pyHanko: B-B with the configured certificate, B-T when a time-stamping
authority is configured (its token over the signature, asked with pyHanko's HTTP
time-stamper). A reader shows the signature, who made it, and whether the file
changed since. :func:`signing` loads the certificate and key, or raises
:class:`~parley.errors.PdfSigningUnconfigured`; :func:`create_self_signed` makes a
pair for trying it out (``parley keys``).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, PdfSigner, SimpleSigner
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko_certvalidator.registry import SimpleCertificateStore
from weasyprint import HTML, Attachment

from parley.config import Settings
from parley.errors import PdfSigningUnconfigured, TimestampUnavailable
from parley.evidence.html import render

#: The PDF/A flavour: part 3 allows the bundle's JSON as an embedded, associated file.
PDF_VARIANT = "pdf/a-3b"
#: The signature field's name, as readers list it in their signature panel.
FIELD = "ParleyEvidence"
#: Seconds to wait for the time-stamping authority while signing.
TSA_TIMEOUT = 10
SELF_SIGNED_DAYS = 365


class _TimeStamper(HTTPTimeStamper):
    """pyHanko's HTTP time-stamper, reporting an answer that is no ``TimeStampResp`` as a
    failed request (asn1crypto parses lazily: it would surface later as a bare ValueError)."""

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        try:
            response = await super().async_request_tsa_response(req)
            # Parsed in full on a copy: .native on pyHanko's own object makes its later
            # re-encoding of the signature ten times slower.
            tsp.TimeStampResp.load(response.dump()).native  # noqa: B018
        except ValueError as e:
            raise TimestampRequestError(f"the answer is not a TimeStampResp: {e}") from None
        return response


@dataclass(frozen=True)
class Signing:
    """What signs PDF evidence: a loaded signer, and the TSA to stamp its signature (or None)."""

    signer: SimpleSigner
    tsa_url: str | None
    #: The signing certificate's SHA-256 fingerprint (hex), to tell the reader which one signed.
    fingerprint: str


def signing(settings: Settings) -> Signing:
    """The certificate and key of ``settings`` loaded for signing.

    Raises :class:`PdfSigningUnconfigured` when there is no pair (neither
    configured nor created by ``parley keys``), when only half of one exists, or
    when the files cannot be read as a certificate and its matching private key.
    """
    cert_path, key_path = settings.pdf_signing
    if not cert_path.exists() and not key_path.exists():
        raise PdfSigningUnconfigured(
            "no certificate to sign PDF evidence with: set PARLEY_PDF_CERT and PARLEY_PDF_KEY "
            "to your organisation's certificate and key (PEM), or run `parley keys` to create "
            "a self-signed pair for trying it out"
        )
    try:
        certificate = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise PdfSigningUnconfigured(
            "the PDF signing certificate and key (PARLEY_PDF_CERT, PARLEY_PDF_KEY) cannot be "
            f"read as PEM without a passphrase: {type(e).__name__}"
        ) from None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != certificate.public_key().public_bytes(*spki):
        raise PdfSigningUnconfigured(
            "the PDF signing key (PARLEY_PDF_KEY) is not the key of the certificate "
            "(PARLEY_PDF_CERT)"
        )
    der = certificate.public_bytes(serialization.Encoding.DER)
    signer_certificate = asn1_x509.Certificate.load(der)
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = SimpleSigner(
        signing_cert=signer_certificate,
        signing_key=asn1_keys.PrivateKeyInfo.load(pkcs8),
        cert_registry=SimpleCertificateStore.from_certs([signer_certificate]),  # type: ignore[no-untyped-call]
    )
    fingerprint = hashlib.sha256(der).hexdigest()
    return Signing(signer, settings.tsa_url, fingerprint)


def layout(bundle: dict[str, Any]) -> bytes:
    """The printable record of ``bundle`` as a PDF/A-3b, with the bundle's JSON attached."""
    conversation_id = str((bundle.get("conversation") or {}).get("id", ""))
    generated = _time(bundle.get("generated_at"))
    attachment = Attachment(
        file_obj=io.BytesIO(json.dumps(bundle, indent=2, ensure_ascii=False).encode()),
        name=f"evidence-{conversation_id}.json",
        description="The evidence bundle (parley-evidence/1) this document renders; "
        "check it with `parley evidence verify`",
        created=generated,
        modified=generated,
        relationship="Source",
    )
    pdf: bytes = HTML(string=render(bundle)).write_pdf(
        pdf_variant=PDF_VARIANT, attachments=[attachment], finisher=_without_producer
    )
    return pdf


def _without_producer(document: object, pdf: Any) -> None:
    """Leave the producer to pyHanko: it names itself in the XMP metadata it rewrites, but
    appends to an existing document-information ``/Producer``, and PDF/A wants both equal."""
    del pdf.info["Producer"]


async def sign(pdf: bytes, with_: Signing, reason: str) -> bytes:
    """``pdf`` with a PAdES signature over all of it (B-T when a TSA is configured).

    Raises :class:`TimestampUnavailable` when the configured TSA does not answer a
    valid time stamp: no PDF is signed without the time stamp it was meant to carry.
    """
    meta = PdfSignatureMetadata(
        field_name=FIELD,
        md_algorithm="sha256",
        subfilter=SigSeedSubFilter.PADES,
        reason=reason,
    )
    stamper = _TimeStamper(with_.tsa_url, timeout=TSA_TIMEOUT) if with_.tsa_url else None
    signer = PdfSigner(meta, signer=with_.signer, timestamper=stamper)
    try:
        out = await signer.async_sign_pdf(IncrementalPdfFileWriter(io.BytesIO(pdf)))
    except TimestampRequestError as e:
        raise TimestampUnavailable(
            f"the time-stamping authority {with_.tsa_url} gave no time stamp ({e}); "
            "the PDF was not signed"
        ) from None
    signed: bytes = out.getvalue()
    return signed


async def export(bundle: dict[str, Any], with_: Signing) -> bytes:
    """The signed PDF/A of ``bundle``; the layout runs in a worker thread."""
    pdf = await asyncio.to_thread(layout, bundle)
    conversation_id = (bundle.get("conversation") or {}).get("id", "")
    return await sign(pdf, with_, f"Parley evidence record of conversation {conversation_id}")


def create_self_signed(cert_path: Path, key_path: Path, name: str) -> bool:
    """Create a self-signed certificate and key (mode 0600) unless the pair exists.

    Returns whether it was created. Raises ``ValueError`` when only one of the two
    files exists: a certificate without its key (or the reverse) signs nothing.
    """
    if cert_path.exists() and key_path.exists():
        return False
    if cert_path.exists() or key_path.exists():
        half = cert_path if cert_path.exists() else key_path
        raise ValueError(f"{half} exists without its pair; move it away or restore the other")
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "self-signed, for trying out"),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    key_path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return True


def _time(text: object) -> datetime:
    """The bundle's own time of generation (the attachment's dates), or now if it has none."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC)
