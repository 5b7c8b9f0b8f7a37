"""The server's Ed25519 signing key, kept in one PEM file beside the store."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from parley.domain.anchor import key_id, public_bytes


def load_or_create(path: Path) -> tuple[Ed25519PrivateKey, bool]:
    """The key in ``path``, creating it (mode 0600) if there is none; and whether it was new."""
    if path.exists():
        key = load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} holds a {type(key).__name__}, not an Ed25519 private key")
        return key, False
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return key, True


def public_key_base64(key: Ed25519PrivateKey) -> str:
    """The raw 32-byte public key in base64: the form to publish and to pass to verify."""
    return base64.b64encode(public_bytes(key.public_key())).decode()


def public_key_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def describe(key: Ed25519PrivateKey) -> str:
    raw = public_bytes(key.public_key())
    return (
        f"key id: {key_id(raw)}\n"
        f"public key (base64): {base64.b64encode(raw).decode()}\n"
        f"{public_key_pem(key)}"
    )


def parse_public_key(text: str) -> bytes:
    """A public key given as base64 of the raw 32 bytes, as PEM, or as a file holding either."""
    candidate = Path(text)
    if len(text) < 4096 and candidate.is_file():
        text = candidate.read_text(encoding="utf-8")
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the PEM key is not an Ed25519 public key")
        return public_bytes(key)
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise ValueError("the public key is neither PEM nor base64") from None
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 public key has 32 bytes, this one {len(raw)}")
    return raw
