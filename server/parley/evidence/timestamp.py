"""Trusted time stamps (RFC 3161) from a time-stamping authority, and their offline check.

A time-stamp token is a TSA's signature over a digest of some data and the time
it saw it: it proves the data existed then, to anyone who trusts the TSA rather
than Parley's operator. :func:`request` asks a TSA to stamp the SHA-256 of some
bytes (a signed checkpoint, say) and returns the DER ``TimeStampResp`` it
answered, after checking that it answers this very request. :func:`verify` checks
such a response offline, given the bytes and the TSA's certificate(s), and
returns the time the TSA vouches for. Both raise
:class:`~parley.errors.TimestampError` subclasses whose message names what
disagrees. ASN.1 and CMS are left to ``rfc3161-client``.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import httpx
from cryptography import x509
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from parley.errors import TimestampInvalid, TimestampUnavailable

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
#: Digest algorithms a token's message imprint may use (OID -> hashlib name).
DIGESTS = {
    "2.16.840.1.101.3.4.2.1": "sha256",
    "2.16.840.1.101.3.4.2.2": "sha384",
    "2.16.840.1.101.3.4.2.3": "sha512",
}


async def request(url: str, data: bytes, http_client: httpx.AsyncClient) -> bytes:
    """The DER ``TimeStampResp`` that the TSA at ``url`` grants for SHA-256(``data``).

    The request carries a random nonce and asks for the TSA's certificate
    (``certReq``). The answer must be a granted response whose imprint and nonce
    are this request's. Raises :class:`TimestampUnavailable` when the TSA cannot be
    reached, does not answer within ``http_client``'s timeout, answers an HTTP error or
    another content type, something that is not a ``TimeStampResp``, a refusal, or a
    stamp of other data; ``ValueError`` when ``data`` is empty.
    """
    query = (
        TimestampRequestBuilder()
        .data(data)
        .hash_algorithm(HashAlgorithm.SHA256)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    try:
        answer = await http_client.post(
            url,
            content=query.as_bytes(),
            headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
        )
    except httpx.TimeoutException:
        raise TimestampUnavailable(
            f"the time-stamping authority {url} did not answer in time"
        ) from None
    except httpx.HTTPError as e:
        raise TimestampUnavailable(
            f"the time-stamping authority {url} cannot be reached: {e}"
        ) from None
    if answer.status_code != 200:
        raise TimestampUnavailable(
            f"the time-stamping authority {url} answered HTTP {answer.status_code}"
        )
    kind = answer.headers.get("content-type", "").split(";")[0].strip()
    if kind != REPLY_TYPE:
        raise TimestampUnavailable(
            f"the time-stamping authority {url} answered {kind or 'no content type'}, "
            f"not {REPLY_TYPE}"
        )
    response = _decode(answer.content, TimestampUnavailable, f"what {url} answered")
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        reasons = "; ".join(response.status_string) or "no reason given"
        raise TimestampUnavailable(
            f"the time-stamping authority {url} refused (status {response.status}): {reasons}"
        )
    info = response.tst_info
    if info.nonce != query.nonce:
        raise TimestampUnavailable(f"the time-stamping authority {url} answered another nonce")
    if info.message_imprint.message != query.message_imprint.message:
        raise TimestampUnavailable(f"the time-stamping authority {url} stamped other data")
    return response.as_bytes()


def stamped_time(token: bytes, data: bytes) -> datetime:
    """The time the token claims for ``data``, checking only that it stamps ``data``.

    The TSA's signature is not checked: :func:`verify` does, given its certificate.
    Raises :class:`TimestampInvalid` as :func:`verify` does.
    """
    response, _ = _imprinted(token, data)
    return response.tst_info.gen_time


def verify(token: bytes, data: bytes, tsa_certs: list[bytes]) -> datetime:
    """The time (UTC) at which the TSA vouches that ``data`` existed, checked offline.

    ``token`` is a DER ``TimeStampResp`` as :func:`request` returns it;
    ``tsa_certs`` are trusted certificates (PEM or DER): the TSA's CA, or the
    TSA's own certificate when it is self-issued. Raises
    :class:`TimestampInvalid` naming what disagrees: a token that cannot be read
    or was not granted, an imprint that is not the digest of ``data``, a signature
    that does not verify or does not chain to ``tsa_certs``, or a signer
    certificate that is not a time-stamping one (critical extended key usage
    ``timeStamping``).
    """
    response, digest = _imprinted(token, data)
    if not tsa_certs:
        raise TimestampInvalid("no TSA certificate to check the token's signature against")
    roots = [_certificate(c) for c in tsa_certs]
    try:
        VerifierBuilder(roots=roots).build().verify(response, digest)
    except VerificationError as e:
        names = ", ".join(r.subject.rfc4514_string() for r in roots)
        raise TimestampInvalid(
            f"the token's signature does not hold for the TSA certificate(s) {names}: {e}"
        ) from None
    return response.tst_info.gen_time


def _imprinted(token: bytes, data: bytes) -> tuple[TimeStampResponse, bytes]:
    """The granted response and the digest of ``data`` it stamps; TimestampInvalid if not."""
    response = _decode(token, TimestampInvalid, "the token")
    if response.status not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampInvalid(f"the token is a refusal (status {response.status}), not a stamp")
    imprint = response.tst_info.message_imprint
    algorithm = DIGESTS.get(imprint.hash_algorithm.dotted_string)
    if algorithm is None:
        raise TimestampInvalid(
            f"the token's imprint uses an unknown digest ({imprint.hash_algorithm.dotted_string})"
        )
    digest = hashlib.new(algorithm, data).digest()
    if imprint.message != digest:
        raise TimestampInvalid(
            f"the token stamps {algorithm} {imprint.message.hex()}, but the data's {algorithm} "
            f"is {digest.hex()}: the data is not what was stamped"
        )
    return response, digest


def _decode(
    der: bytes, error: type[TimestampUnavailable | TimestampInvalid], what: str
) -> TimeStampResponse:
    try:
        return decode_timestamp_response(der)
    except ValueError as e:
        raise error(f"{what} is not an RFC 3161 TimeStampResp: {e}") from None


def _certificate(data: bytes) -> x509.Certificate:
    try:
        if data.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as e:
        raise TimestampInvalid(f"a TSA certificate cannot be read: {e}") from None
