"""The transparency log over HTTP: checkpoints as C2SP signed notes, consistency proofs.

Read as a monitor or a witness would, with nothing but the published verifier key:
every note verifies, every later checkpoint is proven to extend every earlier one,
and a bundle's checkpoint is one the log serves.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from harness import Server, api, closed_conversation
from parley.domain import merkle, note
from parley.domain.note import CheckpointBody, VerifierKey


async def checkpoint(server: Server, path: str = "/log/checkpoint") -> CheckpointBody:
    """The checkpoint at ``path``, after checking the log's signature on it."""
    r = await api(server, path)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    vkey = VerifierKey.parse((await api(server, "/api/keys")).json()["log"]["verifier_key"])
    signed = note.parse(r.text)
    assert [v.key for v in note.verify(signed, [vkey])] == [vkey]
    return CheckpointBody.parse(signed.text)


async def test_each_checkpoint_is_a_signed_note_proven_to_extend_the_ones_before(
    server: Server, agent_token: str
) -> None:
    """Rule: a monitor holding any earlier checkpoint can check the log only grew."""
    seen = []
    for clause in ("1.1", "1.2", "2.1"):
        await closed_conversation(server, agent_token, clause)
        seen.append(await checkpoint(server))
    assert [c.size for c in seen] == sorted({c.size for c in seen})
    for old in seen:
        for new in seen:
            if old.size > new.size:
                continue
            r = await api(server, f"/log/consistency?old={old.size}&new={new.size}")
            body = r.json()
            assert (body["old_size"], body["new_size"]) == (old.size, new.size)
            proof = [base64.b64decode(h) for h in body["proof"]]
            assert merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)
    # A proof checked against another root fails: the check above could fail.
    first, last = seen[0], seen[-1]
    r = await api(server, f"/log/consistency?old={first.size}")
    proof = [base64.b64decode(h) for h in r.json()["proof"]]
    assert r.json()["new_size"] == last.size
    assert not merkle.verify_consistency(first.size, last.size, last.root, last.root, proof)
    # Each size stays readable: what a bundle's checkpoint is compared with.
    assert await checkpoint(server, f"/log/checkpoint/{first.size}") == first


async def test_a_bundles_checkpoint_note_is_the_one_the_log_serves(
    server: Server, agent_token: str, compliance_token: str
) -> None:
    conversation_id = await closed_conversation(server, agent_token, "1.2")
    bundle = (
        await api(
            server, f"/api/compliance/conversations/{conversation_id}/evidence", compliance_token
        )
    ).json()
    size = bundle["anchor"]["checkpoint"]["tree_size"]
    served = (await api(server, f"/log/checkpoint/{size}")).text
    assert bundle["anchor"]["note"] == served
    body = CheckpointBody.parse(note.parse(served).text)
    assert body.root.hex() == bundle["anchor"]["checkpoint"]["root_hash"]
    assert body.origin == (await api(server, "/api/keys")).json()["log"]["origin"]


async def test_a_log_with_no_checkpoint_yet_says_so(make_server: Callable[..., Server]) -> None:
    fresh = make_server().start()
    empty = await api(fresh, "/log/checkpoint")
    assert empty.status_code == 404 and empty.json()["error"]["code"] == "checkpoint_not_found"
    assert (await api(fresh, "/log/consistency")).json() == {
        "old_size": 0, "new_size": 0, "proof": []
    }  # fmt: skip


async def test_bad_log_requests_get_typed_errors(server: Server, agent_token: str) -> None:
    """Rule: bad input gets a clear, typed error; no 500."""
    await closed_conversation(server, agent_token, "1.1")
    size = (await checkpoint(server)).size
    # The server is shared and anchors in the background: size + 1 may exist by now.
    beyond = size + 10**9
    cases = {
        f"/log/checkpoint/{beyond}": (404, "checkpoint_not_found"),
        "/log/checkpoint/0": (400, "bad_request"),
        "/log/checkpoint/abc": (400, "bad_request"),
        f"/log/consistency?old={size + 1}&new={size}": (400, "bad_request"),
        f"/log/consistency?new={beyond}": (400, "bad_request"),
        "/log/consistency?old=-1": (400, "bad_request"),
        "/log/consistency?old=1&extra=2": (400, "bad_request"),
        "/log/checkpoint?x=1": (400, "bad_request"),
    }
    for path, (status, code) in cases.items():
        r = await api(server, path)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), path
