"""The visitor's signed receipts through the real server, and ``parley evidence verify-receipt``."""

from __future__ import annotations

import base64
import copy
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness import (
    REPO,
    Client,
    RedisServer,
    Server,
    agent,
    api,
    assert_clean,
    parley,
    two_processes,
    visitor,
)
from parley.domain import receipt
from parley.domain.transcript import Event

Receipt = dict[str, Any]


async def server_key(server: Server) -> bytes:
    return base64.b64decode((await api(server, "/api/keys")).json()["public_key"])


async def join(a: Client, conversation_id: str) -> None:
    await a.send({"type": "join", "conversation_id": conversation_id})
    await a.expect("caught_up")


async def after(v: Client, event_type: str) -> tuple[dict[str, Any], Receipt, list[str]]:
    """The next ``event_type`` event, the receipt frame that follows it, and the frame types
    from the event up to the receipt."""
    while (event := (await v.expect("event"))["event"])["type"] != event_type:
        pass
    kinds = ["event"]
    while (frame := await v.recv())["type"] != "receipt":
        kinds.append(frame["type"])
    return event, frame["receipt"], [*kinds, "receipt"]


async def warned_and_closed(
    server: Server, token: str, agent_server: Server | None = None
) -> tuple[str, list[Receipt], list[str]]:
    """A visitor accepts, is warned under 4.1 and closed under 1.1 (by an agent on
    ``agent_server`` if given): the conversation, the three receipts the visitor got, and
    the type of the frame that followed the closure's receipt."""
    async with visitor(server) as v, agent(agent_server or server, token) as a:
        conversation_id = await v.accept()
        accepted = next(f for f in v.seen if f["type"] == "accepted")
        said = await v.say("HELLO??? ANSWER ME", "m1")
        await join(a, conversation_id)
        await a.send(
            {"type": "warn", "conversation_id": conversation_id, "clause_id": "4.1",
             "message_seqs": [said["seq"]]}
        )  # fmt: skip
        warning, warned, _ = await after(v, "warning")
        await a.send({"type": "close", "conversation_id": conversation_id, "clause_id": "1.1"})
        closed, closure, _ = await after(v, "closed")
        following = [(await v.recv())["type"]]
    assert warned["receipt"]["event_hash"] == warning["hash"]
    assert closure["receipt"]["event_hash"] == closed["hash"]
    return conversation_id, [accepted["receipt"], warned, closure], following


async def bundle_of(server: Server, token: str, conversation_id: str) -> dict[str, Any]:
    r = await api(server, f"/api/compliance/conversations/{conversation_id}/evidence", token)
    assert r.status_code == 200, r.text
    bundle: dict[str, Any] = r.json()
    return bundle


async def test_receipts_arrive_with_accepted_warning_and_closure_and_match_the_stored_events(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    conversation_id, receipts, following = await warned_and_closed(server, agent_token)
    assert following[:1] == ["policy"], "the receipt of a closure comes before the next offer"
    key = await server_key(server)
    record = (await bundle_of(server, compliance_token, conversation_id))["transcript"]
    stored = {e["seq"]: e for e in record}
    kinds = [r["receipt"]["kind"] for r in receipts]
    assert kinds == ["acceptance", "warning", "closure"]
    for held in receipts:
        body = receipt.verify(held, key)
        event = stored[body["event_seq"]]
        assert (body["conversation_id"], body["event_hash"], body["event_type"]) == (
            conversation_id, event["hash"], event["type"],
        )  # fmt: skip
    accepted, warned, closed = (r["receipt"] for r in receipts)
    assert (accepted["policy_id"], accepted["version"], accepted["text_sha256"]) == (
        stored[1]["data"]["policy_id"], stored[1]["data"]["version"], stored[1]["data"]["sha256"],
    )  # fmt: skip
    assert accepted["visitor_id"] == stored[1]["data"]["visitor_id"] == warned["visitor_id"]
    assert (warned["clause_id"], closed["clause_id"]) == ("4.1", "1.1")
    quoted = stored[closed["event_seq"]]["data"]["clause"]["text"]
    assert closed["clause_sha256"] == receipt.sha256_text(quoted)
    events = [Event.from_dict(e) for e in record]
    for held in receipts:
        assert receipt.contradictions(held["receipt"], conversation_id, events) == []
        for name, value in held["receipt"].items():  # tampering with any field is detected
            forged = copy.deepcopy(held)
            forged["receipt"][name] = value + 1 if isinstance(value, int) else value + "x"
            assert receipt.problems(forged, key), f"{name} changed, and the receipt still holds"


async def test_receipts_are_only_of_a_visitors_own_conversations(
    server: Server, agent_token: str
) -> None:
    conversation_id, _, _ = await warned_and_closed(server, agent_token)
    async with visitor(server) as stranger:
        await stranger.send({"type": "receipts"})
        refused = await stranger.expect("error")
        assert_clean(refused)
        assert refused["code"] == "policy_not_accepted"
        await stranger.send({"type": "receipts", "conversation_id": conversation_id})
        refused = await stranger.expect("error")
        assert (refused["code"], refused["conversation_id"]) == ("not_found", conversation_id)
        assert [f["type"] for f in await stranger.barrier()] == []


async def test_receipts_on_request_and_on_replay_for_a_returning_visitor(
    server: Server, agent_token: str
) -> None:
    async with visitor(server) as v, agent(server, agent_token) as a:
        conversation_id = await v.accept()
        await join(a, conversation_id)
        await a.send({"type": "warn", "conversation_id": conversation_id, "clause_id": "4.1"})
        _, warned, _ = await after(v, "warning")
        await a.send({"type": "close", "conversation_id": conversation_id, "clause_id": "1.1"})
        await after(v, "closed")
        token = v.token
    key = await server_key(server)
    async with visitor(server, token=token) as back:  # a reload: the whole transcript again
        replayed = []
        while (frame := await back.recv())["type"] != "caught_up":
            if frame["type"] == "event":
                replayed.append((frame["event"]["type"], frame["event"]["seq"]))
            elif frame["type"] == "receipt":
                replayed.append(("receipt", frame["receipt"]["receipt"]["event_seq"]))
            elif frame["type"] == "policy":
                offer = frame
        warning_seq, closed_seq = (seq for kind, seq in replayed if kind in ("warning", "closed"))
        assert replayed[-4:] == [
            ("warning", warning_seq),
            ("receipt", warning_seq),
            ("closed", closed_seq),
            ("receipt", closed_seq),
        ], "each warning and closure replayed comes with its receipt, right after it"
        assert [kind for kind, _ in replayed].count("receipt") == 2
        await back.send({"type": "receipts"})
        answer = await back.expect("receipts")
        assert answer["conversation_id"] == conversation_id
        bodies = [receipt.verify(r, key) for r in answer["receipts"]]
        assert [(b["kind"], b["event_seq"]) for b in bodies] == [
            ("acceptance", 1), ("warning", warning_seq), ("closure", closed_seq),
        ]  # fmt: skip
        again = {k: v for k, v in bodies[1].items() if k != "issued_at"}
        assert again == {k: v for k, v in warned["receipt"].items() if k != "issued_at"}
        # A later conversation does not hide the earlier one's receipts from its visitor.
        await back.accept_offer(offer)
        await back.send({"type": "receipts", "conversation_id": conversation_id})
        earlier = await back.expect("receipts")
        assert len(earlier["receipts"]) == 3 and earlier["conversation_id"] == conversation_id
        await back.send({"type": "receipts"})
        current = await back.expect("receipts")
        assert [r["receipt"]["kind"] for r in current["receipts"]] == ["acceptance"]
        assert current["conversation_id"] != conversation_id


async def test_another_tab_is_sent_the_acceptance_receipt_too(server: Server) -> None:
    async with visitor(server) as first:
        offer = await first.expect("policy")
        async with visitor(server, token=first.token) as second:
            await second.expect("policy")
            conversation_id = await first.accept_offer(offer)
            accepted = await second.expect("accepted")
    key = await server_key(server)
    body = receipt.verify(accepted["receipt"], key)
    assert (body["kind"], body["conversation_id"]) == ("acceptance", conversation_id)


async def test_receipts_reach_a_visitor_on_another_process_of_a_redis_deployment(
    make_server: Callable[..., Server], redis_server: RedisServer, tmp_path: Path
) -> None:
    a, b = two_processes(make_server, redis_server, tmp_path)
    token = b.add_staff("Bea on B", "agent")
    conversation_id, receipts, _ = await warned_and_closed(a, token, agent_server=b)
    key = await server_key(b)
    assert [receipt.verify(r, key)["kind"] for r in receipts] == [
        "acceptance", "warning", "closure",
    ]  # fmt: skip
    assert {r["receipt"]["conversation_id"] for r in receipts} == {conversation_id}


def rewrite(bundle: dict[str, Any], seq: int, change: Callable[[dict[str, Any]], None]) -> None:
    """Alter event ``seq``'s data and recompute every hash from it on: a chain that holds."""
    previous = None
    for raw in bundle["transcript"]:
        event = Event.from_dict(raw)
        if event.seq == seq:
            data = copy.deepcopy(dict(event.data))
            change(data)
            event = replace(event, data=data)
        if previous is not None:
            event = replace(event, prev_hash=previous)
        raw.clear()
        raw.update(replace(event, hash=event.computed_hash()).to_dict())
        previous = raw["hash"]


def verify_receipt(*args: str) -> Any:
    return parley("evidence", "verify-receipt", *args)


async def test_verify_receipt_holds_a_receipt_against_the_exported_bundle(
    server: Server, agent_token: str, compliance_token: str, tmp_path: Path
) -> None:
    conversation_id, receipts, _ = await warned_and_closed(server, agent_token)
    bundle = await bundle_of(server, compliance_token, conversation_id)
    key = base64.b64encode(await server_key(server)).decode()
    (tmp_path / "bundle.json").write_text(json.dumps(bundle))
    for held in receipts:
        (tmp_path / "receipt.json").write_text(json.dumps(held))
        ok = verify_receipt(str(tmp_path / "receipt.json"), "--public-key", key,
                            "--bundle", str(tmp_path / "bundle.json"))  # fmt: skip
        assert ok.returncode == 0, ok.stdout + ok.stderr
        seq = held["receipt"]["event_seq"]
        assert f"ok    the bundle holds event {seq} exactly as received" in ok.stdout
        assert ok.stdout.splitlines()[-1].startswith(f"VALID: {held['receipt']['kind']} receipt")

    # The operator softens the clause the closure quoted and rehashes the chain.
    closure = receipts[2]["receipt"]
    rewritten = copy.deepcopy(bundle)
    rewrite(rewritten, closure["event_seq"],
            lambda d: d["clause"].update(text="Please be kind."))  # fmt: skip
    (tmp_path / "rewritten.json").write_text(json.dumps(rewritten))
    (tmp_path / "receipt.json").write_text(json.dumps(receipts[2]))
    caught = verify_receipt(str(tmp_path / "receipt.json"), "--public-key", key,
                            "--bundle", str(tmp_path / "rewritten.json"))  # fmt: skip
    assert caught.returncode == 1, caught.stdout + caught.stderr
    new_hash = rewritten["transcript"][closure["event_seq"] - 1]["hash"]
    seq = closure["event_seq"]
    assert (
        f"FAIL  event_hash: the receipt says '{closure['event_hash']}', "
        f"the record's event {seq} has '{new_hash}'"
    ) in caught.stdout
    assert (
        f"FAIL  clause_sha256: the receipt says '{closure['clause_sha256']}', "
        f"the record's event {seq} has '{receipt.sha256_text('Please be kind.')}'"
    ) in caught.stdout
    assert "CONTRADICTED" in caught.stdout

    # An earlier message rewritten moves every later hash: the acceptance still holds.
    reworded = copy.deepcopy(bundle)
    rewrite(reworded, 2, lambda d: d.update(text="hello, could you help me?"))
    (tmp_path / "reworded.json").write_text(json.dumps(reworded))
    for held, holds in zip(receipts, (True, False, False), strict=True):
        (tmp_path / "receipt.json").write_text(json.dumps(held))
        result = verify_receipt(str(tmp_path / "receipt.json"), "--public-key", key,
                                "--bundle", str(tmp_path / "reworded.json"))  # fmt: skip
        assert (result.returncode == 0) is holds, result.stdout
        assert ("FAIL  event_hash:" in result.stdout) is not holds, result.stdout


async def test_verify_receipt_gives_clear_errors_for_bad_input(
    server: Server, agent_token: str, tmp_path: Path
) -> None:
    _, receipts, _ = await warned_and_closed(server, agent_token)
    key = base64.b64encode(await server_key(server)).decode()
    good = tmp_path / "receipt.json"
    good.write_text(json.dumps(receipts[0]))

    def run(path: Path, public_key: str = key, *more: str) -> Any:
        result = verify_receipt(str(path), "--public-key", public_key, *more)
        assert "Traceback" not in result.stderr + result.stdout, result.stderr
        return result

    (tmp_path / "garbled.json").write_text('{"receipt": ')
    garbled = run(tmp_path / "garbled.json")
    assert garbled.returncode == 2 and garbled.stderr.startswith("parley: cannot read:")
    (tmp_path / "list.json").write_text("[1, 2]")
    listed = run(tmp_path / "list.json")
    assert listed.returncode == 1
    assert (
        'FAIL  a receipt is a JSON object with exactly "receipt" and "signature"' in listed.stdout
    )
    missing = run(tmp_path / "nowhere.json")
    assert missing.returncode == 2 and "nowhere.json" in missing.stderr
    other = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="  # RFC 8032's test key
    wrong = run(good, other)
    assert wrong.returncode == 1
    assert f"FAIL  key_id: the receipt names key {receipts[0]['receipt']['key_id']}" in wrong.stdout
    assert "FAIL  signature: not a valid Ed25519 signature" in wrong.stdout
    short = run(good, "AAAA")
    assert short.returncode == 2 and "an Ed25519 public key has 32 bytes" in short.stderr
    forged = copy.deepcopy(receipts[0])
    forged["receipt"]["version"] += 1
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    tampered = run(tmp_path / "forged.json")
    assert tampered.returncode == 1 and "FAIL  signature:" in tampered.stdout
    (tmp_path / "not-a-bundle.json").write_text('{"transcript": 3}')
    unreadable = run(good, key, "--bundle", str(tmp_path / "not-a-bundle.json"))
    assert unreadable.returncode == 2
    assert "cannot read" in unreadable.stderr and "transcript" in unreadable.stderr


async def test_the_documented_jq_and_openssl_commands_check_a_real_receipt(
    server: Server, agent_token: str, compliance_token: str, tmp_path: Path
) -> None:
    """docs/compliance.md, "Check a receipt with any Ed25519 tool", run as printed (by sh)."""
    text = (REPO / "docs" / "compliance.md").read_text(encoding="utf-8")
    section = text.split("### Check a receipt with any Ed25519 tool", 1)[1].split("\n## ", 1)[0]
    check_signature, find_event = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    conversation_id, receipts, _ = await warned_and_closed(server, agent_token)
    bundle = await bundle_of(server, compliance_token, conversation_id)
    (tmp_path / "evidence.json").write_text(json.dumps(bundle, indent=2))
    key = base64.b64encode(await server_key(server)).decode()
    published = re.sub(r"^KEY=\S+", f"KEY={key}", check_signature, flags=re.MULTILINE)
    assert published != check_signature, "the block sets KEY first"

    def run(script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["sh", "-c", script], cwd=tmp_path, capture_output=True,
                              text=True, check=False)  # fmt: skip

    for held in receipts:
        (tmp_path / "receipt.json").write_text(json.dumps(held, indent=2))
        good = run(published)
        assert good.returncode == 0 and "Signature Verified Successfully" in good.stdout, good
        found, claimed = run(find_event).stdout.split()
        assert found == claimed == held["receipt"]["event_hash"]
        forged = copy.deepcopy(held)
        forged["receipt"]["event_seq"] += 1
        (tmp_path / "receipt.json").write_text(json.dumps(forged, indent=2))
        bad = run(published)
        assert bad.returncode != 0 and "Signature Verification Failure" in bad.stdout, bad
