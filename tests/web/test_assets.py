"""Static files compressed once (parley.web.assets): which representations a file gets."""

from __future__ import annotations

import base64
import gzip
import hashlib
from pathlib import Path

import brotli
import pytest

from parley.web.assets import encoded, read_file, read_folder

TEXT = b"body { color: #123456; }\n" * 40


def test_text_gets_br_then_gzip_then_identity_each_with_the_digest_of_its_bytes() -> None:
    asset = encoded(TEXT, "text/css")
    assert [r.coding for r in asset.representations] == ["br", "gzip", "identity"]
    br, gz, identity = asset.representations
    assert brotli.decompress(br.body) == gzip.decompress(gz.body) == identity.body == TEXT
    for r in asset.representations:
        digest = hashlib.sha256(r.body).digest()
        assert r.etag == f'"{digest.hex()}"'
        assert r.repr_digest == f"sha-256=:{base64.b64encode(digest).decode()}:"
    assert asset.varies


def test_gzip_bytes_are_the_same_in_every_process() -> None:
    """No file name and time 0: processes behind one address give one tag."""
    assert encoded(TEXT, "text/css").representations[1].body[4:8] == b"\0\0\0\0"


@pytest.mark.parametrize(
    ("body", "media_type"),
    [(b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "image/png"), (b"a{}", "text/css")],
    ids=["not text", "too small to shrink"],
)
def test_only_smaller_text_encodings_are_kept(body: bytes, media_type: str) -> None:
    asset = encoded(body, media_type)
    assert [r.coding for r in asset.representations] == ["identity"]
    assert not asset.varies


def test_media_types_come_from_the_suffix(tmp_path: Path) -> None:
    for name, media_type in [("a.JS", "text/javascript"), ("b.html", "text/html"),
                             ("c.woff2", "application/octet-stream")]:  # fmt: skip
        (tmp_path / name).write_bytes(TEXT)
        assert read_file(tmp_path / name).media_type == media_type


def test_a_console_folder_is_read_whole_and_must_have_its_index(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.js").write_bytes(TEXT)
    with pytest.raises(ValueError, match=r"holds no index\.html"):
        read_folder(tmp_path)
    (tmp_path / "index.html").write_bytes(b"<!doctype html>")
    assert sorted(read_folder(tmp_path)) == ["index.html", "sub/x.js"]
    with pytest.raises(ValueError, match="cannot read this page file"):
        read_file(tmp_path / "missing.css")
