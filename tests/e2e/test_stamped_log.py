"""Checkpoints time-stamped by a real RFC 3161 authority (OpenSSL's ``ts`` on loopback).

The server has each new checkpoint's note stamped; a bundle carries the token, and
``parley evidence verify --tsa-cert`` checks it offline against the TSA's CA.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from harness import REPO, Server, api, closed_conversation, parley
from parley.domain import note
from tsa import LocalTSA


async def stamped_bundle(server: Server, tmp_path: Path) -> Path:
    """A closed conversation's bundle, and its printable record beside it (evidence.html)."""
    agent = server.add_staff("Alice Agent", "agent")
    compliance = server.add_staff("Carol Compliance", "compliance")
    conversation_id = await closed_conversation(server, agent, "1.2")
    path = f"/api/compliance/conversations/{conversation_id}/evidence"
    r = await api(server, path, compliance)
    assert r.status_code == 200, r.text
    (tmp_path / "evidence.html").write_text(
        (await api(server, path + "?format=html", compliance)).text
    )
    (tmp_path / "evidence.json").write_text(r.text)
    return tmp_path / "evidence.json"


def verify(server: Server, bundle: Path, *args: str) -> tuple[int, str]:
    public = httpx.get(f"{server.http}/api/keys").json()["public_key"]
    result = parley("evidence", "verify", str(bundle), "--public-key", public, *args)
    return result.returncode, result.stdout + result.stderr


async def test_a_bundle_carries_a_time_stamp_of_its_checkpoint_that_verifies_offline(
    make_server: Callable[..., Server],
    make_tsa: Callable[[str], LocalTSA],
    tmp_path: Path,
) -> None:
    """Rule: with PARLEY_TSA_URL, the bundle's checkpoint is stamped and checkable offline."""
    tsa, other = make_tsa("Trusted TSA"), make_tsa("Another TSA")
    server = make_server(PARLEY_TSA_URL=tsa.url, PARLEY_TSA_CERT=str(tsa.ca_file)).start()
    bundle = await stamped_bundle(server, tmp_path)
    anchor = json.loads(bundle.read_text())["anchor"]
    assert anchor["timestamp"] is not None
    status, said = verify(server, bundle, "--tsa-cert", str(tsa.ca_file))
    assert status == 0, said
    assert "ok    time stamp\n" in said and "(by the TSA certificate given)" in said
    stamped_at = said.split("time-stamped ", 1)[1].split()[0]  # 2026-12-02T17:35:22Z
    row = (tmp_path / "evidence.html").read_text().split("Time stamp (RFC 3161)", 1)[1]
    shown = re.search(r'<span class="time">([0-9-]+ [0-9:]+) UTC</span>', row.split("</tr>", 1)[0])
    assert shown is not None, row
    # The printable record is a second export, a moment later: on a loaded machine it has been
    # seen to carry a stamp one second later than the bundle's, so it is compared to the bundle's
    # stamp by order, not for equality.
    json_time = datetime.strptime(stamped_at, "%Y-%m-%dT%H:%M:%SZ")
    html_time = datetime.strptime(shown.group(1), "%Y-%m-%d %H:%M:%S")
    assert json_time <= html_time <= json_time + timedelta(minutes=2), (stamped_at, shown)
    status, said = verify(server, bundle)
    assert status == 0, said
    assert "ok    time stamp imprint (TSA signature not checked)" in said
    # Another authority's CA does not vouch for this token.
    status, said = verify(server, bundle, "--tsa-cert", str(other.ca_file))
    assert status == 1 and "FAIL  the time stamp: the token's signature does not hold" in said
    # OpenSSL agrees, with the commands of docs/compliance.md run as printed.
    (tmp_path / "tsa-ca.pem").write_bytes(tsa.ca_pem)
    openssl = documented_openssl_check(tmp_path)
    assert openssl.returncode == 0 and "Verification: OK" in openssl.stdout, openssl.stderr
    text = (tmp_path / "checkpoint.txt").read_text()
    assert text == note.parse(anchor["note"]).text
    stamped = (tmp_path / "checkpoint.tsr").read_bytes()
    assert stamped == base64.b64decode(anchor["timestamp"])
    (tmp_path / "evidence.json").write_text(bundle.read_text().replace(text[:20], text[:19] + "X"))
    assert documented_openssl_check(tmp_path).returncode != 0


def documented_openssl_check(folder: Path) -> subprocess.CompletedProcess[str]:
    """docs/compliance.md, "Trusted timestamps", its shell block run by sh in ``folder``."""
    text = (REPO / "docs" / "compliance.md").read_text(encoding="utf-8")
    section = text.split("## Trusted timestamps", 1)[1].split("\n## ", 1)[0]
    [script] = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    return subprocess.run(
        ["sh", "-ec", script], cwd=folder, capture_output=True, text=True, check=False
    )


async def test_a_tsa_that_fails_leaves_the_bundle_unstamped_not_the_export_failed(
    make_server: Callable[..., Server], local_tsa: LocalTSA, tmp_path: Path
) -> None:
    """Rule: the TSA is evidence on top; its outage never stops an export."""
    server = make_server(PARLEY_TSA_URL=local_tsa.url + "garbage").start()
    bundle = await stamped_bundle(server, tmp_path)
    assert json.loads(bundle.read_text())["anchor"]["timestamp"] is None
    row = (tmp_path / "evidence.html").read_text().split("Time stamp (RFC 3161)", 1)[1]
    assert row.split("</tr>", 1)[0].endswith("none</td>")
    status, said = verify(server, bundle)
    assert status == 0, said
    status, said = verify(server, bundle, "--tsa-cert", str(local_tsa.ca_file))
    assert status == 1 and "FAIL  the bundle carries no time stamp of its checkpoint" in said


def test_a_missing_tsa_certificate_stops_the_server_with_a_message(
    make_server: Callable[..., Server], tmp_path: Path
) -> None:
    server = make_server(PARLEY_TSA_URL="http://127.0.0.1:9/", PARLEY_TSA_CERT=str(tmp_path / "no"))
    result = server.cli("evidence", "export", "c_none")
    assert result.returncode == 2 and "PARLEY_TSA_CERT" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
