"""RFC 3161 time stamps against a real local TSA (``openssl ts -reply``): asked, then checked."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from rfc3161_client import decode_timestamp_response

from harness import free_port, listening
from parley.errors import TimestampInvalid, TimestampUnavailable
from parley.evidence import timestamp
from tsa import LocalTSA

CHECKPOINT = b"parley.localhost/transcript-log\n42\nq9mZ3vN8yTe0m1kX5wqk3bCkq4hJ8wAq0bQ2GQbqZ0E=\n"


async def stamp(url: str, data: bytes = CHECKPOINT, seconds: float = 10.0) -> bytes:
    async with httpx.AsyncClient(timeout=seconds) as client:
        return await timestamp.request(url, data, client)


async def run(*command: str, cwd: Path) -> tuple[int, str]:
    """Run ``command``; its exit code and what it printed (both streams)."""
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_a_token_from_the_tsa_verifies_offline_and_gives_the_tsa_time(
    local_tsa: LocalTSA,
) -> None:
    """Timestamps: a granted token verifies against the TSA's CA and says when it was made."""
    before = datetime.now(UTC).replace(microsecond=0)
    token = await stamp(local_tsa.url)
    after = datetime.now(UTC)
    at = timestamp.verify(token, CHECKPOINT, [local_tsa.ca_pem])
    assert before - timedelta(seconds=1) <= at <= after + timedelta(seconds=1)
    der = local_tsa.ca.public_bytes(Encoding.DER)
    assert timestamp.verify(token, CHECKPOINT, [der]) == at


async def test_the_request_carries_a_nonce_and_asks_for_the_tsa_certificate(
    local_tsa: LocalTSA,
) -> None:
    """Timestamps: certReq brings the TSA's certificate into the token; the nonce is answered."""
    response = decode_timestamp_response(await stamp(local_tsa.url))
    certificates = [x509.load_der_x509_certificate(c) for c in response.signed_data.certificates]
    assert certificates == [local_tsa.certificate]
    assert response.tst_info.nonce is not None


async def test_openssl_ts_verify_accepts_the_token(local_tsa: LocalTSA, tmp_path: Path) -> None:
    """Timestamps: the token is plain RFC 3161, checked by OpenSSL as docs/compliance.md shows."""
    (tmp_path / "checkpoint.txt").write_bytes(CHECKPOINT)
    (tmp_path / "checkpoint.tsr").write_bytes(await stamp(local_tsa.url))
    command = [
        "openssl",
        "ts",
        "-verify",
        "-in",
        "checkpoint.tsr",
        "-CAfile",
        str(local_tsa.ca_file),
    ]
    code, out = await run(*command, "-data", "checkpoint.txt", cwd=tmp_path)
    assert code == 0 and "Verification: OK" in out, out
    (tmp_path / "altered.txt").write_bytes(CHECKPOINT.replace(b"42", b"43"))
    code, out = await run(*command, "-data", "altered.txt", cwd=tmp_path)
    assert code != 0 and "message imprint mismatch" in out, out


async def test_altered_data_does_not_verify(local_tsa: LocalTSA) -> None:
    """Timestamps: a token proves only the data it stamped; the message names both digests."""
    token = await stamp(local_tsa.url)
    with pytest.raises(TimestampInvalid, match="the data is not what was stamped"):
        timestamp.verify(token, CHECKPOINT.replace(b"42", b"43"), [local_tsa.ca_pem])


async def test_a_token_from_another_tsa_does_not_verify(
    local_tsa: LocalTSA, make_tsa: Callable[[str], LocalTSA]
) -> None:
    """Timestamps: the signature must chain to the TSA certificate(s) the verifier trusts."""
    other = make_tsa("Elsewhere")
    token = await stamp(other.url)
    assert timestamp.verify(token, CHECKPOINT, [other.ca_pem])
    with pytest.raises(TimestampInvalid, match=r"does not hold for the TSA certificate.*Parley"):
        timestamp.verify(token, CHECKPOINT, [local_tsa.ca_pem])


async def test_a_token_with_a_changed_signature_does_not_verify(local_tsa: LocalTSA) -> None:
    """Timestamps: the CMS signature covers the stamped time and digest."""
    token = bytearray(await stamp(local_tsa.url))
    token[-5] ^= 0x01  # inside the signature value, the last field of the token
    with pytest.raises(TimestampInvalid, match="signature does not hold"):
        timestamp.verify(bytes(token), CHECKPOINT, [local_tsa.ca_pem])


def test_what_is_no_token_or_no_certificate_is_a_typed_error(local_tsa: LocalTSA) -> None:
    """Timestamps: unreadable input is a TimestampInvalid that says which input, never a crash."""
    with pytest.raises(TimestampInvalid, match="the token is not an RFC 3161 TimeStampResp"):
        timestamp.verify(b"\x30\x03\x02\x01\x00", CHECKPOINT, [local_tsa.ca_pem])
    with pytest.raises(TimestampInvalid, match="a TSA certificate cannot be read"):
        timestamp.verify(local_tsa.reply(_query()), CHECKPOINT, [b"not a certificate"])
    with pytest.raises(TimestampInvalid, match="no TSA certificate"):
        timestamp.verify(local_tsa.reply(_query()), CHECKPOINT, [])


def _query() -> bytes:
    """A TimeStampReq for CHECKPOINT, as ``openssl ts -query`` makes it."""
    return subprocess.run(
        ["openssl", "ts", "-query", "-sha256", "-cert"],
        input=CHECKPOINT, capture_output=True, check=True,
    ).stdout  # fmt: skip


async def test_a_tsa_that_is_down_is_a_typed_error() -> None:
    """Timestamps: nothing listening is TimestampUnavailable naming the TSA."""
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(TimestampUnavailable, match=f"{url} cannot be reached"):
        await stamp(url)


async def test_a_tsa_that_answers_garbage_is_a_typed_error(local_tsa: LocalTSA) -> None:
    """Timestamps: bytes that are no TimeStampResp (right content type) are refused."""
    with pytest.raises(TimestampUnavailable, match="is not an RFC 3161 TimeStampResp"):
        await stamp(local_tsa.url + "garbage")


async def test_a_tsa_that_does_not_answer_in_time_is_a_typed_error(local_tsa: LocalTSA) -> None:
    """Timestamps: a TSA that hangs ends in TimestampUnavailable after the timeout."""
    with pytest.raises(TimestampUnavailable, match="did not answer in time"):
        await stamp(local_tsa.url + "hang", seconds=0.5)


async def test_a_web_server_that_is_no_tsa_is_a_typed_error(tmp_path: Path) -> None:
    """Timestamps: an HTTP error status is TimestampUnavailable saying which."""
    port = free_port()
    page = await asyncio.create_subprocess_exec(
        "python3", "-m", "http.server", str(port), "--bind", "127.0.0.1",
        cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert await asyncio.to_thread(listening, port)
        with pytest.raises(TimestampUnavailable, match="answered HTTP 501"):
            await stamp(f"http://127.0.0.1:{port}/")
    finally:
        page.terminate()
        await page.wait()


async def test_empty_data_is_refused_before_asking() -> None:
    """Timestamps: there is nothing to stamp in no bytes (a caller's mistake, ValueError)."""
    with pytest.raises(ValueError, match="cannot be empty"):
        await stamp(f"http://127.0.0.1:{free_port()}/", b"")
