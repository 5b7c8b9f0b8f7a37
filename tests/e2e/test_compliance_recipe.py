"""docs/compliance.md's verifier, run exactly as printed, on bundles from a real server.

The section "Check a bundle without Parley" is what an independent expert
writes their own verifier from. Its Python blocks are executed here as they
stand, importing nothing of Parley, against evidence exported over HTTP; and
each way of altering a bundle must make it fail. So the documented bytes,
encodings and algorithms cannot drift from what the server does.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import re
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from harness import POLICIES, REPO, Server, agent, api, visitor
from parley import policy_files
from parley.domain.chain import GENESIS
from parley.domain.erasure import erase
from parley.domain.transcript import Event
from parley.evidence.verify import verify
from translated import add_german

SECTION = "## Check a bundle without Parley"
Bundle = dict[str, Any]


def recipe() -> Callable[[Bundle, str], None]:
    """``verify_bundle`` defined by the section's Python blocks, and nothing else."""
    text = (REPO / "docs" / "compliance.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    code = "\n".join(re.findall(r"```python\n(.*?)```", section, re.DOTALL))
    assert not re.search(r"^(from|import) parley", code, re.MULTILINE), "it stands on its own"
    namespace: dict[str, Any] = {}
    exec(compile(code, "docs/compliance.md", "exec"), namespace)
    verify_bundle: Callable[[Bundle, str], None] = namespace["verify_bundle"]
    return verify_bundle


async def exported_bundle(
    server: Server, agent_token: str, compliance_token: str, locale: str = "fr-FR"
) -> Bundle:
    """A conversation with a warning and a closure quoting the visitor, exported over HTTP;
    the visitor accepts the policy in the language ``locale`` finds."""
    facts = {"locale": locale, "time_zone": "Europe/Paris", "page_url": "https://shop.example/"}
    async with visitor(server, client=facts) as v:
        conversation_id = await v.accept(affirmation="Ticked “I accept” and pressed “Start”")
        await v.say("Réponds {clause_id} “maintenant” \\ ou je reviens 😠", "m1")
        await v.say("HELLO???", "m2")
        async with agent(server, agent_token) as a:
            await a.send({"type": "join", "conversation_id": conversation_id})
            await a.expect("caught_up")
            await a.send(
                {"type": "warn", "conversation_id": conversation_id, "clause_id": "4.1",
                 "message_seqs": [3]}
            )  # fmt: skip
            await a.expect("done")
            await a.send(
                {"type": "close", "conversation_id": conversation_id, "clause_id": "1.2",
                 "message_seqs": [2, 3], "note": "Threat.", "bar": {"hours": 1}}
            )  # fmt: skip
            await a.expect("done")
    r = await api(
        server, f"/api/compliance/conversations/{conversation_id}/evidence", compliance_token
    )
    assert r.status_code == 200, r.text
    bundle: Bundle = r.json()
    return bundle


def edit(path: str, value: Any) -> Callable[[Bundle], None]:
    """Set the value at a dotted path such as ``transcript.1.data.text``."""

    def change(bundle: Bundle) -> None:
        *parents, last = path.split(".")
        target: Any = bundle
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[int(last) if isinstance(target, list) else last] = value

    return change


def rehashed(*changes: Callable[[Bundle], None]) -> Callable[[Bundle], None]:
    """``changes``, then every hash and copy recomputed, as by someone with database access."""

    def change(bundle: Bundle) -> None:
        for c in changes:
            c(bundle)
        previous = GENESIS
        for event in bundle["transcript"]:
            event["prev_hash"] = previous
            event["hash"] = previous = Event.from_dict(event).computed_hash()
        first, last = bundle["transcript"][0], bundle["transcript"][-1]
        bundle["conversation"]["head_hash"] = last["hash"]
        bundle["acceptance"] = {
            "conversation_id": first["conversation_id"], "accepted_at": first["at"],
            "event_hash": first["hash"], **first["data"],
        }  # fmt: skip
        bundle["closure"] = copy.deepcopy(last)

    return change


def drop_first_audit_entry(bundle: Bundle) -> None:
    del bundle["audit"][0]


def drop_governing_text(bundle: Bundle) -> None:
    del bundle["governing"]


def reanchored(change: Callable[[Bundle], None]) -> Callable[[Bundle], None]:
    """``change``, then the anchored leaf made to name the new head."""

    def both(bundle: Bundle) -> None:
        change(bundle)
        bundle["anchor"]["leaf"]["head_hash"] = bundle["transcript"][-1]["hash"]

    return both


MESSAGE = "transcript.1.data.text"
CLOSURE = "transcript.-1.data"
POLICY = "transcript.0.data"

#: Ways to alter a bundle, and what the documented recipe says when it rejects each.
TAMPERING = {
    "a message edited": (edit(MESSAGE, "Hello"), "event 2 was altered"),
    "a field smuggled into an event": (edit(f"{MESSAGE[:-5]}.mood", "calm"), "event 2 was altered"),
    "a salt changed": (edit("transcript.1.salts.text", "00" * 16), "event 2 was altered"),
    "a salt shortened": (edit("transcript.1.salts.text", "00" * 15), "event 2: bad salt"),
    "a value passed off as erased": (
        edit("transcript.1.erased", {"text": {"commitment": "ab" * 32, "at": "", "by": "",
                                              "basis": ""}}),
        "a field both salted and erased",
    ),
    "the accepted digest replaced, hashes recomputed": (
        rehashed(edit(f"{POLICY}.sha256", "0" * 64)), "event 1: text and digest differ"
    ),
    "the accepted text replaced with its digest, hashes recomputed": (
        rehashed(
            edit(f"{POLICY}.text", "Be nice.\n"),
            edit(f"{POLICY}.sha256", hashlib.sha256(b"Be nice.\n").hexdigest()),
        ),
        "event 1: the text is not the policy's",
    ),
    "a clause reworded, hashes recomputed": (
        rehashed(edit(f"{CLOSURE}.clause.text", "Be nice.")), "word for word"
    ),
    "a quote altered, hashes recomputed": (
        rehashed(edit(f"{CLOSURE}.messages.0.text", "I love you")), "misquotes message 2"
    ),
    "a notice rewritten, hashes recomputed": (
        rehashed(edit(f"{CLOSURE}.notice", "Goodbye.")), "not the notice the policy gives"
    ),
    "the recorded address rewritten, hashes recomputed": (
        rehashed(edit(f"{POLICY}.ip", "203.0.113.9")),
        "the anchored head is not the transcript's last event",
    ),
    "the recorded address rewritten, hashes recomputed, leaf rewritten": (
        reanchored(rehashed(edit(f"{POLICY}.ip", "203.0.113.9"))),
        "the inclusion proof does not reach the root",
    ),
    "the governing text edited": (
        edit("governing.text", "Be nice.\n"), "the governing text is not the one event 1 names"
    ),
    "the governing text said to be in another language": (
        edit("governing.language", "tlh"), "the governing text is not the one event 1 names"
    ),
    "the governing text removed": (
        drop_governing_text, "the governing text is not the one event 1 names"
    ),
    "the acceptance copy altered": (
        edit("acceptance.ip", "203.0.113.9"), "the acceptance record is not a copy of event 1"
    ),
    "an audit entry altered": (edit("audit.0.details.seq", 99), "was altered"),
    "an audit entry dropped": (drop_first_audit_entry, "does not link"),
    "the anchored leaf's time changed": (
        edit("anchor.leaf.at", "2000-01-01T00:00:00.000Z"), "does not reach the root"
    ),
    "another leaf index": (edit("anchor.leaf_index", 10**6), "the leaf index is outside the tree"),
    "the checkpoint's tree grown": (edit("anchor.checkpoint.tree_size", 10**6), "inclusion proof"),
    "the signed root replaced": (edit("anchor.checkpoint.root_hash", "ab" * 32), "reach the root"),
    "the checkpoint's time changed": (
        edit("anchor.checkpoint.at", "2000-01-01T00:00:00.000Z"), "signature is not this key's"
    ),
    "the checkpoint's key id changed": (
        edit("anchor.checkpoint.key_id", "0" * 16), "names another key"
    ),
}  # fmt: skip


def erased_bundle(bundle: Bundle) -> Bundle:
    """``bundle`` after an erasure in the store: the visitor's messages (events 2 and 3), the
    address and user agent they accepted from, and the closure's quotes and notice."""
    erased = copy.deepcopy(bundle)
    at = datetime(2027, 1, 1, tzinfo=UTC)
    fields = {0: ["ip", "user_agent"], 1: ["text"], 2: ["text"], -1: ["messages", "notice"]}
    for i, names in fields.items():
        event = Event.from_dict(erased["transcript"][i])
        gone = erase(event, names, at=at, by="s_dpo", basis="GDPR Art. 17")
        erased["transcript"][i] = gone.to_dict()
    erased["acceptance"].update(ip=None, user_agent=None)
    erased["closure"] = copy.deepcopy(erased["transcript"][-1])
    return erased


@pytest.fixture(params=["the policy's notice", "the built-in notice", "a German acceptance"])
def deployment(
    request: pytest.FixtureRequest,
    server: Server,
    agent_token: str,
    compliance_token: str,
    make_server: Callable[..., Server],
    tmp_path: Path,
) -> tuple[Server, str, str, bool, str]:
    """The shared server (conduct v2 has notice templates), one whose policy has none, or
    one with a German translation of each version (its own templates); with an agent's and a
    compliance officer's token, whether it has templates, and the visitor's locale."""
    if request.param == "the policy's notice":
        return server, agent_token, compliance_token, True, "fr-FR"
    if request.param == "a German acceptance":
        folder = tmp_path / "translated"
        shutil.copytree(POLICIES, folder)
        for version in policy_files.load_folder(folder):
            add_german(folder, version)
        s = make_server(folder).start()
        return (
            s,
            s.add_staff("Alice Agent", "agent"),
            s.add_staff("Carol", "compliance"),
            True,
            "de",
        )
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "policy.schema.json").write_bytes((POLICIES / "policy.schema.json").read_bytes())
    v2 = (POLICIES / "conduct-v2.toml").read_text(encoding="utf-8")
    (folder / "conduct-v2.toml").write_text(v2.split("\n[notice]")[0], encoding="utf-8")
    s = make_server(folder).start()
    return (
        s, s.add_staff("Alice Agent", "agent"), s.add_staff("Carol", "compliance"), False, "fr-FR"
    )  # fmt: skip


async def test_the_documented_recipe_verifies_a_real_bundle_and_rejects_every_alteration(
    deployment: tuple[Server, str, str, bool, str],
) -> None:
    s, agent_token, compliance_token, templated, locale = deployment
    bundle = await exported_bundle(s, agent_token, compliance_token, locale)
    assert ("notice" in bundle["acceptance"]["document"]) is templated
    if locale == "de":
        assert bundle["acceptance"]["language"] == "de" != bundle["governing"]["language"]
        assert "version_line" in bundle["acceptance"]["document"]
    public_key = (await api(s, "/api/keys")).json()["public_key"]
    verify_bundle = recipe()
    verify_bundle(bundle, public_key)
    assert verify(bundle, base64.b64decode(public_key)).ok, "Parley's verifier agrees"

    for name, (change, failure) in TAMPERING.items():
        altered = copy.deepcopy(bundle)
        change(altered)
        with pytest.raises(ValueError) as rejected:
            verify_bundle(altered, public_key)
            pytest.fail(f"the recipe accepted a bundle with {name}")
        assert failure in str(rejected.value), name
    erased = erased_bundle(bundle)
    verify_bundle(erased, public_key)
    assert verify(erased, base64.b64decode(public_key)).ok
    restored = copy.deepcopy(erased)
    restored["transcript"][2]["data"]["text"] = "HELLO???"
    with pytest.raises(ValueError, match="event 3: bad erasure record of text"):
        verify_bundle(restored, public_key)
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with pytest.raises(ValueError, match="names another key"):
        verify_bundle(bundle, base64.b64encode(other).decode())


async def test_the_recipe_verifies_a_bundle_ending_with_an_erasure_record(
    server: Server, agent_token: str, compliance_token: str, admin_token: str
) -> None:
    """After an erasure on request, the transcript ends with an ``erased`` event after the
    closure: the recipe accepts it, and refuses one that claims a field still held."""
    bundle = await exported_bundle(server, agent_token, compliance_token)
    visitor_id = bundle["conversation"]["visitor_id"]
    async with httpx.AsyncClient(base_url=server.http, timeout=60) as http:
        erased = await http.post(
            f"/api/admin/visitors/{visitor_id}/erase", json={"basis": "GDPR Art. 17"},
            headers={"Authorization": f"Bearer {admin_token}"},
        )  # fmt: skip
    assert erased.status_code == 200, erased.text
    conversation_id = bundle["conversation"]["id"]
    r = await api(server, f"/api/compliance/conversations/{conversation_id}/evidence",
                  compliance_token)  # fmt: skip
    after = r.json()
    assert after["transcript"][-1]["type"] == "erased"
    public_key = (await api(server, "/api/keys")).json()["public_key"]
    verify_bundle = recipe()
    verify_bundle(after, public_key)
    assert verify(after, base64.b64decode(public_key)).ok, "Parley's verifier agrees"
    # The message as it was before (same hash: value and salt), under the record that says
    # it was erased: the chain holds, the record does not.
    claimed = copy.deepcopy(after)
    claimed["transcript"][1] = copy.deepcopy(bundle["transcript"][1])
    record = claimed["transcript"][-1]["seq"]
    with pytest.raises(ValueError, match=f"event {record} records an erasure that event 2"):
        verify_bundle(claimed, public_key)
    assert not verify(claimed, base64.b64decode(public_key)).ok
