"""A local RFC 3161 time-stamping authority for the tests: OpenSSL's ``ts -reply`` behind HTTP.

:class:`LocalTSA` makes its own CA and a TSA certificate (critical extended key usage
``timeStamping``) with ``cryptography``, writes an ``openssl ts`` configuration beside
them, and answers ``POST /`` on a free loopback port by running ``openssl ts -reply``
on each query: a real TSA, nothing on the internet. Two more paths play a broken
one: ``/garbage`` answers bytes that are no time-stamp response (with the right
content type), ``/hang`` answers nothing until the TSA stops.
"""

from __future__ import annotations

import subprocess
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPLY_TYPE = "application/timestamp-reply"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Parley tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_ca_and_tsa(label: str) -> tuple[x509.Certificate, x509.Certificate, bytes]:
    """A self-signed CA, a TSA certificate it issued, and the TSA's key (PEM)."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"{label} CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{label} TSA"))
        .issuer_name(ca_name)
        .public_key(tsa_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
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
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(tsa_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return ca, tsa, _pem_key(tsa_key)


#: No ``certs =`` line: OpenSSL would add the CA to the token's certificate SET in chain order,
#: not in DER's sorted order, and rfc3161-client refuses a SET that is not sorted. The token
#: carries the TSA's own certificate (certReq); a verifier is given the CA.
CONFIG = """\
[ tsa ]
default_tsa = local_tsa

[ local_tsa ]
dir = {folder}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa-key.pem
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


class LocalTSA:
    """An RFC 3161 TSA on ``http://127.0.0.1:PORT/``; ``stop()`` ends it (``/hang`` too)."""

    def __init__(self, folder: Path, label: str = "Parley test") -> None:
        self.folder = folder
        self.ca, self.certificate, key = make_ca_and_tsa(label)
        pem = serialization.Encoding.PEM
        (folder / "ca.pem").write_bytes(self.ca.public_bytes(pem))
        (folder / "tsa.pem").write_bytes(self.certificate.public_bytes(pem))
        (folder / "tsa-key.pem").write_bytes(key)
        (folder / "serial").write_text("01\n")
        self.config = folder / "openssl-ts.cnf"
        self.config.write_text(CONFIG.format(folder=folder))
        #: Replies made, one at a time (``openssl ts`` counts its serial number in a file).
        self.replies = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self._http.block_on_close = False
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/"

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate: the trust anchor a verifier is given (``openssl ts -CAfile``)."""
        return self.ca.public_bytes(serialization.Encoding.PEM)

    @property
    def ca_file(self) -> Path:
        return self.folder / "ca.pem"

    def start(self) -> LocalTSA:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._http.shutdown()
        self._http.server_close()

    def reply(self, query: bytes) -> bytes:
        """``openssl ts -reply`` on one DER TimeStampReq: the DER TimeStampResp."""
        with self._lock, tempfile.TemporaryDirectory(dir=self.folder) as work:
            (Path(work) / "query.tsq").write_bytes(query)
            subprocess.run(
                ["openssl", "ts", "-reply", "-config", str(self.config),
                 "-queryfile", "query.tsq", "-out", "reply.tsr"],
                cwd=work, check=True, capture_output=True, timeout=30,
            )  # fmt: skip
            self.replies += 1
            return (Path(work) / "reply.tsr").read_bytes()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path == "/hang":
                    tsa._stopping.wait()
                    return
                body = b"this is not a TimeStampResp" if self.path == "/garbage" else None
                if body is None:
                    try:
                        body = tsa.reply(query)
                    except subprocess.CalledProcessError as e:
                        self.send_error(400, e.stderr.decode(errors="replace")[:200])
                        return
                self.send_response(200)
                self.send_header("Content-Type", REPLY_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the tests say what they expected."""

        return Handler
