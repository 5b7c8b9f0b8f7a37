"""Invariant 3 and startup, through the real CLI and the real server.

A policy folder is checked before anything is served; a broken file is named
with the JSON path of each problem; a published version never changes (a file
edited after publication stops the server until it is restored or published as
a new version); new versions are published on restart and offered once in
force; published versions stay in the store when their file is removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from harness import POLICIES, Server, Visitor, parley, visitor
from parley import policy_files
from parley.domain.policy import PolicyVersion

MakeServer = Callable[..., Server]

SHA = re.compile(r"[0-9a-f]{64}")
V2_EFFECTIVE = 'effective = "2026-09-01T00:00:00Z"'
V2_SENTENCE = "Strong complaints are welcome, but aim them at the problem"


def versions(folder: Path) -> dict[int, PolicyVersion]:
    return {v.version: v for v in policy_files.load_folder(folder)}


def listed(result_stdout: str) -> dict[int, str]:
    """``parley policy list`` output -> {version: line of its governing (English) text}."""
    lines = {}
    for line in result_stdout.splitlines():
        m = re.match(r"conduct v(\d+) en\s", line)
        if m:
            lines[int(m.group(1))] = line
    return lines


def refuses_to_start(s: Server) -> str:
    """Start ``s``, expect it to exit non-zero by itself; return everything it printed."""
    with pytest.raises(RuntimeError, match="server exited"):
        s.start()
    assert s.proc is not None and s.proc.returncode not in (0, None)
    return s.log.read_text()


def write_v3(policies: Path, effective: str, sentence: str) -> Path:
    """conduct-v3.toml: v2 with version 3, the given effective time and one clause changed."""
    text = (policies / "conduct-v2.toml").read_text()
    assert V2_EFFECTIVE in text and V2_SENTENCE in text
    text = text.replace("version = 2", "version = 3", 1)
    text = text.replace(V2_EFFECTIVE, f'effective = "{effective}"', 1)
    text = text.replace(V2_SENTENCE, sentence, 1)
    path = policies / "conduct-v3.toml"
    path.write_text(text)
    return path


def offered(server: Server) -> dict[str, object]:
    r = httpx.get(f"{server.http}/api/policy")
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


# ---------------------------------------------------------------- parley policy check


def test_policy_check_on_the_real_folder_exits_0_and_lists_every_version_with_its_digest() -> None:
    """`parley policy check` on policies/ passes and names v1 and v2 with their SHA-256."""
    result = parley("policy", "check", "--policies", str(POLICIES))
    assert result.returncode == 0, result.stderr
    expected = versions(POLICIES)
    assert sorted(expected) == [1, 2]
    for number, version in expected.items():
        line = next(x for x in result.stdout.splitlines() if f"conduct v{number} " in x)
        assert SHA.findall(line) == [version.sha256], line


def break_folder(policies: Path) -> list[str]:
    """Break both files in three ways at once; return the problems each must be reported as."""
    v1, v2 = policies / "conduct-v1.toml", policies / "conduct-v2.toml"
    text = v2.read_text()
    missing_title = 'title = "Abusive or harassing language"\n'
    assert missing_title in text and 'id = "1.2"' in text
    v2.write_text(text.replace(missing_title, "", 1).replace('id = "1.2"', 'id = "1.x"', 1))
    text = v1.read_text()
    assert 'id = "1.3"' in text
    v1.write_text(text.replace('id = "1.3"', 'id = "9.3"', 1))
    return [
        f"{v1}: $.sections[0].clauses[2].id: ",  # a clause id outside its section
        f"{v2}: $.sections[0].clauses[0]: ",  # the first clause of section 1 lost its title
        f"{v2}: $.sections[0].clauses[1].id: ",  # "1.x" is not a clause id
    ]


def test_policy_check_reports_every_problem_as_file_json_path_message(policies: Path) -> None:
    """`parley policy check` on a broken folder exits 1 and prints `FILE: $.path: message`
    for every problem, in every file, not just the first one."""
    problems = break_folder(policies)
    result = parley("policy", "check", "--policies", str(policies))
    assert result.returncode == 1, (result.stdout, result.stderr)
    out = result.stdout + result.stderr
    lines = out.splitlines()
    for prefix in problems:
        matching = [x for x in lines if x.startswith(prefix)]
        assert len(matching) == 1, (prefix, out)
        assert len(matching[0]) > len(prefix) + 5, "the problem has no message"
    assert any("'title' is a required property" in x for x in lines), out
    assert any("'1.x'" in x for x in lines), out
    assert any("'9.3'" in x for x in lines), out
    assert "Traceback" not in out
    assert "ok  conduct" not in out, "a broken folder was reported as ok"


def test_server_refuses_to_start_on_a_broken_policy_folder_with_the_same_message(
    policies: Path, make_server: MakeServer
) -> None:
    """`parley serve` on a broken folder exits non-zero before serving, printing the same
    problems as `parley policy check`, and no Python traceback."""
    problems = break_folder(policies)
    check = parley("policy", "check", "--policies", str(policies))
    reported = [x for x in check.stderr.splitlines() if any(x.startswith(p) for p in problems)]
    assert len(reported) == len(problems), check.stderr
    output = refuses_to_start(make_server(policies))
    for line in reported:
        assert line in output.splitlines(), (line, output)
    assert "Traceback" not in output
    assert "Uvicorn running" not in output


# ---------------------------------------------------------------- invariant 3: immutability


def test_invariant3_an_edited_published_version_stops_the_server_until_restored(
    policies: Path, make_server: MakeServer, tmp_path: Path
) -> None:
    """Invariant 3: once v2 is published, a file whose v2 text differs is refused at startup
    (naming the version, both digests and the fix); restoring the file lets it start again."""
    data = tmp_path / "store"
    first = make_server(policies, data_dir=data).start()
    published_sha = offered(first)["sha256"]
    first.stop()

    v2 = policies / "conduct-v2.toml"
    original = v2.read_text()
    v2.write_text(original.replace(V2_SENTENCE, "Polite complaints are welcome; aim them", 1))
    edited_sha = versions(policies)[2].sha256
    assert published_sha == versions(POLICIES)[2].sha256 != edited_sha

    output = refuses_to_start(make_server(policies, data_dir=data))
    assert "Traceback" not in output
    assert "Uvicorn running" not in output
    conflict = next((x for x in output.splitlines() if published_sha in x), "")
    assert edited_sha in conflict, output
    assert re.search(r"\bconduct\b.*\bversion 2\b", conflict), conflict
    assert "version 3" in conflict and "publish" in conflict, conflict

    # The CLI refuses the edited file against this store in the same way.
    listing = make_server(policies, data_dir=data).cli("policy", "list")
    assert listing.returncode != 0
    assert published_sha in listing.stderr and edited_sha in listing.stderr

    v2.write_text(original)
    again = make_server(policies, data_dir=data).start()
    assert offered(again)["sha256"] == published_sha


# ---------------------------------------------------------------- new versions


async def test_a_new_version_in_force_is_published_on_restart_and_offered(
    policies: Path, make_server: MakeServer, tmp_path: Path
) -> None:
    """Adding conduct-v3.toml (effective in the past, one clause changed) and restarting on
    the same store publishes v3; new visitors are offered v3; `policy list` marks v3 in force."""
    data = tmp_path / "store"
    first = make_server(policies, data_dir=data).start()
    async with visitor(first) as v:
        assert (await v.expect("policy"))["version"] == 2
    first.stop()

    effective = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    new_sentence = "Complaints are welcome in any tone that stays civil"
    write_v3(policies, effective, new_sentence)
    v3 = versions(policies)[3]

    second = make_server(policies, data_dir=data).start()
    async with visitor(second) as v:
        offer = await v.expect("policy")
        assert (offer["version"], offer["sha256"]) == (3, v3.sha256)
        assert new_sentence in offer["text"] and V2_SENTENCE not in offer["text"]
        assert offer["effective"] == effective
        assert (await accept(v, offer)).startswith("c_")

    result = second.cli("policy", "list")
    assert result.returncode == 0, result.stderr
    lines = listed(result.stdout)
    assert sorted(lines) == [1, 2, 3], result.stdout
    assert [n for n, line in lines.items() if line.endswith("in force")] == [3], result.stdout
    assert v3.sha256 in lines[3]


async def accept(v: Visitor, offer: dict[str, object]) -> str:
    """Accept ``offer`` exactly as shown; return the new conversation's id."""
    await v.send(
        {
            "type": "accept",
            "policy_id": offer["policy_id"],
            "version": offer["version"],
            "sha256": offer["sha256"],
        }
    )
    accepted = await v.expect("accepted")
    return str(accepted["conversation"]["id"])


async def test_a_future_version_is_published_but_not_offered(
    policies: Path, make_server: MakeServer
) -> None:
    """A v3 effective in 2100 is published at startup but v2 stays in force and is offered."""
    write_v3(policies, "2100-01-01T00:00:00Z", "Complaints from the future are welcome")
    v2, v3 = versions(policies)[2], versions(policies)[3]
    s = make_server(policies).start()
    assert (offered(s)["version"], offered(s)["sha256"]) == (2, v2.sha256)
    async with visitor(s) as v:
        offer = await v.expect("policy")
        assert (offer["version"], offer["sha256"]) == (2, v2.sha256)
    result = s.cli("policy", "list")
    assert result.returncode == 0, result.stderr
    lines = listed(result.stdout)
    assert sorted(lines) == [1, 2, 3], result.stdout
    assert v3.sha256 in lines[3] and "2100-01-01T00:00:00Z" in lines[3]
    assert [n for n, line in lines.items() if line.endswith("in force")] == [2], result.stdout


def test_published_versions_stay_in_the_store_when_their_file_is_removed(
    policies: Path, make_server: MakeServer, tmp_path: Path
) -> None:
    """The store is the system of record: after v1 is published, a restart without
    conduct-v1.toml (and its translations) still lists v1 with its digest."""
    data = tmp_path / "store"
    v1 = versions(policies)[1]
    make_server(policies, data_dir=data).start().stop()
    for v1_file in policies.glob("conduct-v1.*toml"):
        v1_file.unlink()
    s = make_server(policies, data_dir=data).start()
    assert offered(s)["version"] == 2
    assert "serving policy conduct v2 in en, de, fr (sha256" in s.log.read_text()
    result = s.cli("policy", "list")
    assert result.returncode == 0, result.stderr
    lines = listed(result.stdout)
    assert sorted(lines) == [1, 2], result.stdout
    assert v1.sha256 in lines[1]
    assert v1.in_language("de").sha256 in result.stdout, "a published translation was dropped"
