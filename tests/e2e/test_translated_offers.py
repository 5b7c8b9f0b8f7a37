"""A visitor reads and accepts the policy in their language, through the real server.

The policy folder is a private copy of policies/ with a small German translation of
each version (tests/translations.py); the server and its clients are real, on both stores.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from harness import (
    RedisServer,
    Server,
    Visitor,
    agent,
    api,
    assert_clean,
    client,
    parley,
    visitor,
)
from parley import policy_files
from parley.domain.policy import PolicyVersion
from translated import add_german

MakeServer = Callable[..., Server]


def in_force(folder: Path) -> PolicyVersion:
    """The version a server on ``folder`` offers now, with every language it has there."""
    now = datetime.now(UTC)
    current = [v for v in policy_files.load_folder(folder) if v.effective <= now]
    return max(current, key=lambda v: (v.effective, v.version))


def untranslated(folder: Path) -> Path:
    """``folder`` without any translation (a file named ``<id>-v<n>.<language>.toml``)."""
    for path in folder.glob("*-v*.*.toml"):
        path.unlink()
    return folder


@pytest.fixture
def translated(policies: Path) -> Path:
    """The private policy folder, every version with a German translation."""
    for version in policy_files.load_folder(policies):
        add_german(policies, version)
    return policies


@pytest.fixture(params=["sqlite", "redis"])
def store_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The settings of a server on each store (a Redis of the test's own)."""
    if request.param == "sqlite":
        yield {}
        return
    redis = RedisServer(tmp_path / "redis").start()
    try:
        yield {"PARLEY_STORE": redis.url}
    finally:
        redis.stop()


@pytest.fixture
def served(translated: Path, make_server: MakeServer, store_env: dict[str, str]) -> Server:
    return make_server(translated, **store_env).start()


def offered_in(offer: dict[str, Any], version: PolicyVersion, language: str) -> None:
    """``offer`` is ``version`` in ``language``, naming its languages and governing text."""
    text = version.for_language(language)
    assert offer["type"] == "policy"
    assert (offer["policy_id"], offer["version"]) == (version.policy_id, version.version)
    assert (offer["language"], offer["sha256"], offer["text"]) == (language, text.sha256, text.text)
    assert offer["title"] == text.title
    assert [c["title"] for c in offer["clauses"]] == [c.title for c in text.clauses.values()]
    assert offer["languages"] == list(version.languages)
    assert offer["languages"][0] == offer["governing_language"] == version.language
    assert offer["governing_sha256"] == version.sha256
    assert offer["direction"] == "ltr"


async def still_at_the_gate(v: Visitor) -> None:
    """Nothing else was sent, and no conversation was opened."""
    assert await v.barrier() == []


# ---------------------------------------------------------------- which language is offered


@pytest.mark.parametrize(
    ("hello", "headers", "language"),
    [
        pytest.param({"client": {"locale": "de-AT"}}, None, "de", id="locale"),
        pytest.param({}, {"Accept-Language": "ja;q=0.9, de-CH;q=0.8, *;q=0.1"}, "de",
                     id="accept-language"),
        pytest.param({"client": {"locale": "ja-JP"}}, {"Accept-Language": "de"}, "de",
                     id="locale-unpublished-then-accept-language"),
        pytest.param({"client": {"locale": "en-US"}}, {"Accept-Language": "de"}, "en",
                     id="locale-before-accept-language"),
        pytest.param({"client": {"locale": "ja"}}, {"Accept-Language": "ko, zh;q=0.5"}, "en",
                     id="governing-by-default"),
        pytest.param({"client": {"locale": "not a tag"}}, {"Accept-Language": "de;q=0"}, "en",
                     id="malformed-and-refused"),
    ],
)  # fmt: skip
async def test_the_first_offer_is_in_the_locale_then_accept_language_then_governing(
    served: Server,
    translated: Path,
    hello: dict[str, Any],
    headers: dict[str, str] | None,
    language: str,
) -> None:
    async with visitor(served, headers=headers, **hello) as v:
        offered_in(await v.expect("policy"), in_force(translated), language)


# ---------------------------------------------------------------- the language frame


async def test_a_language_frame_switches_the_offer_and_an_unknown_one_changes_nothing(
    served: Server, translated: Path
) -> None:
    version = in_force(translated)
    async with visitor(served) as v:
        offered_in(await v.expect("policy"), version, "en")
        await v.send({"type": "language", "language": "de"})
        offered_in(await v.expect("policy"), version, "de")
        await v.send({"type": "language", "language": "DE-ch"})
        offered_in(await v.expect("policy"), version, "de")
        await v.send({"type": "language", "language": "ja"})
        error = await v.recv()
        assert_clean(error)
        assert error["code"] == "unknown_language"
        assert "ja" in error["message"] and "en, de" in error["message"]
        await still_at_the_gate(v)
        # Still at the gate, with the German offer: accepting it opens the conversation.
        de = version.for_language("de")
        await v.accept_offer({"policy_id": "conduct", "version": version.version,
                              "sha256": de.sha256}, language="de")  # fmt: skip


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param({"type": "language", "language": "d" * 36}, id="too-long"),
        pytest.param({"type": "language", "language": "de-" + "x" * 32}, id="tag-too-long"),
        pytest.param({"type": "language", "language": "deutsch bitte"}, id="not-a-tag"),
        pytest.param({"type": "language", "language": "<script>"}, id="markup"),
        pytest.param({"type": "language", "language": 7}, id="wrong-type"),
        pytest.param({"type": "language", "language": None}, id="null"),
        pytest.param({"type": "language"}, id="missing"),
        pytest.param({"type": "language", "language": "de", "sha256": "0" * 64}, id="extra"),
    ],
)
async def test_a_hostile_language_frame_is_an_invalid_frame_and_changes_nothing(
    served: Server, translated: Path, frame: dict[str, Any]
) -> None:
    version = in_force(translated)
    async with visitor(served, client={"locale": "de"}) as v:
        offered_in(await v.expect("policy"), version, "de")
        await v.send(frame)
        error = await v.recv()
        assert_clean(error)
        assert error["code"] == "invalid_frame"
        await still_at_the_gate(v)
        conversation_id = await v.accept_offer(
            {"policy_id": "conduct", "version": version.version,
             "sha256": version.for_language("de").sha256}
        )  # fmt: skip
        assert conversation_id.startswith("c_")


async def test_a_language_frame_before_hello_is_refused(served: Server) -> None:
    async with client(f"{served.ws}/ws/visitor") as c:
        await c.send({"type": "language", "language": "de"})
        error = await c.recv()
        assert_clean(error)
        assert error["code"] == "hello_required"


# ---------------------------------------------------------------- accepting in a language


async def test_an_acceptance_in_german_records_the_german_text_and_the_governing_digest(
    served: Server, translated: Path
) -> None:
    version = in_force(translated)
    de = version.for_language("de")
    compliance = served.add_staff("Carla Compliance", "compliance")
    async with visitor(served, client={"locale": "de-DE"}) as v:
        offer = await v.expect("policy")
        offered_in(offer, version, "de")
        await v.send({"type": "accept", "policy_id": "conduct", "version": version.version,
                      "sha256": de.sha256, "language": "de"})  # fmt: skip
        accepted = await v.expect("accepted")
        conversation = accepted["conversation"]
        assert conversation["policy"] == {
            "policy_id": "conduct", "version": version.version, "sha256": de.sha256,
            "language": "de",
        }  # fmt: skip
        receipt = accepted["receipt"]["receipt"]
        assert (receipt["text_sha256"], receipt["language"], receipt["governing_sha256"]) == (
            de.sha256, "de", version.sha256,
        )  # fmt: skip
        # A language frame while the conversation is open is refused: nothing changes.
        await v.expect("caught_up")
        await v.send({"type": "language", "language": "en"})
        error = await v.recv()
        assert_clean(error)
        assert error["code"] == "already_accepted"
        assert await v.barrier() == []
        await v.say("Hallo", "m1")

    # A second tab of the same visitor is welcomed into the German conversation.
    async with visitor(served, token=v.token) as again:
        assert again.seen[-1]["conversation"]["policy"]["language"] == "de"

    record = (await api(served, f"/api/compliance/conversations/{conversation['id']}",
                        compliance)).json()  # fmt: skip
    acceptance = record["acceptance"]
    assert (acceptance["text"], acceptance["sha256"], acceptance["title"]) == (
        de.text, de.sha256, de.title,
    )  # fmt: skip
    assert acceptance["document"] == de.to_document()
    assert (acceptance["language"], acceptance["governing_language"]) == ("de", "en")
    assert acceptance["governing_sha256"] == version.sha256
    assert record["conversation"]["policy"]["language"] == "de"
    listing = (await api(served, "/api/compliance/acceptances", compliance)).json()["items"]
    (listed,) = [a for a in listing if a["conversation_id"] == conversation["id"]]
    assert (listed["language"], listed["sha256"]) == ("de", de.sha256)
    assert (listed["governing_language"], listed["governing_sha256"]) == ("en", version.sha256)
    assert "text" not in listed
    csv = await api(served, "/api/compliance/acceptances?format=csv", compliance)
    header, *rows = csv.text.splitlines()
    columns = header.split(",")
    (row,) = [r.split(",") for r in rows if conversation["id"] in r]
    named = dict(zip(columns, row, strict=False))
    assert (named["language"], named["sha256"]) == ("de", de.sha256)
    assert (named["governing_language"], named["governing_sha256"]) == ("en", version.sha256)


@pytest.mark.parametrize(
    ("digest_of", "language"),
    [("de", "en"), ("en", "de"), ("de", "fr")],
    ids=["german-digest-as-english", "english-digest-as-german", "unpublished-language"],
)
async def test_a_digest_of_another_language_is_refused_and_the_offer_repeated(
    served: Server, translated: Path, digest_of: str, language: str
) -> None:
    version = in_force(translated)
    async with visitor(served, client={"locale": "de"}) as v:
        offered_in(await v.expect("policy"), version, "de")
        await v.send({"type": "accept", "policy_id": "conduct", "version": version.version,
                      "sha256": version.for_language(digest_of).sha256,
                      "language": language})  # fmt: skip
        error = await v.recv()
        assert_clean(error)
        assert error["code"] == "policy_mismatch"
        offered_in(await v.recv(), version, "de")
        assert await v.barrier() == []


# ---------------------------------------------------------------- later offers


async def test_the_language_chosen_is_offered_again_after_the_conversation_ends(
    served: Server, translated: Path
) -> None:
    version = in_force(translated)
    token = served.add_staff("Ada Agent", "agent")
    async with visitor(served) as v, agent(served, token) as a:
        offered_in(await v.expect("policy"), version, "en")
        await v.send({"type": "language", "language": "de"})
        conversation_id = await v.accept()
        assert v.policy["language"] == "de"
        await a.send({"type": "join", "conversation_id": conversation_id})
        await a.expect("caught_up")
        await a.send({"type": "resolve", "conversation_id": conversation_id})
        await a.expect("done")
        offered_in(await v.expect("policy"), version, "de")


async def test_a_version_coming_into_force_is_offered_in_the_language_chosen(
    policies: Path, make_server: MakeServer
) -> None:
    """The announcement of a new version is rendered in each waiting visitor's language."""
    current = in_force(policies)
    soon = (datetime.now(UTC) + timedelta(seconds=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = (policies / f"conduct-v{current.version}.toml").read_text(encoding="utf-8")
    following = current.version + 1
    text = text.replace(f"version = {current.version}", f"version = {following}", 1)
    text = text.replace(current.to_document()["effective"], soon, 1)
    (policies / f"conduct-v{following}.toml").write_text(text, encoding="utf-8")
    for version in policy_files.load_folder(policies):
        add_german(policies, version)
    versions = {v.version: v for v in policy_files.load_folder(policies)}
    server = make_server(policies).start()
    async with visitor(server) as v, visitor(server) as other:
        offered_in(await v.expect("policy"), versions[current.version], "en")
        offered_in(await other.expect("policy"), versions[current.version], "en")
        await v.send({"type": "language", "language": "de"})
        offered_in(await v.expect("policy"), versions[current.version], "de")
        offered_in(await v.expect("policy", timeout=60), versions[following], "de")
        offered_in(await other.expect("policy", timeout=60), versions[following], "en")


# ---------------------------------------------------------------- a translation added later


async def test_a_translation_added_after_a_restart_is_offered_and_open_conversations_keep_theirs(
    policies: Path, make_server: MakeServer, store_env: dict[str, str], tmp_path: Path
) -> None:
    untranslated(policies)
    version = in_force(policies)
    data = tmp_path / "store"
    first = make_server(policies, data_dir=data, **store_env).start()
    async with visitor(first, client={"locale": "de"}) as v:
        offer = await v.expect("policy")
        offered_in(offer, version, "en")
        assert offer["languages"] == ["en"]
        conversation_id = await v.accept_offer(offer)
        await v.say("Hello", "m1")
    first.stop()

    add_german(policies, version)
    translated = in_force(policies)
    assert translated.sha256 == version.sha256
    listed = parley("policy", "check", "--policies", str(policies))
    assert listed.returncode == 0, listed.stderr
    assert f"conduct v{version.version} de " in listed.stdout
    second = make_server(policies, data_dir=data, **store_env).start()
    async with visitor(second, token=v.token, client={"locale": "de"}) as again:
        welcome = again.seen[-1]
        assert welcome["conversation"]["id"] == conversation_id
        assert welcome["conversation"]["state"] == "open"
        assert welcome["conversation"]["policy"] == {
            "policy_id": "conduct", "version": version.version, "sha256": version.sha256,
            "language": "en",
        }  # fmt: skip
        await again.events_until_caught_up()
        assert (await again.say("Still here", "m2"))["seq"] == 3
    async with visitor(second, client={"locale": "de"}) as new:
        offered_in(await new.expect("policy"), translated, "de")
    result = second.cli("policy", "list")
    assert result.returncode == 0, result.stderr
    assert f"conduct v{version.version} de " in result.stdout


# ---------------------------------------------------------------- evidence


async def test_the_evidence_of_a_german_acceptance_holds_both_texts_and_verifies(
    served: Server, translated: Path, tmp_path: Path
) -> None:
    version = in_force(translated)
    de = version.for_language("de")
    compliance = served.add_staff("Carla Compliance", "compliance")
    async with visitor(served, client={"locale": "de"}) as v:
        conversation_id = await v.accept(language="de")
    response = await api(served, f"/api/compliance/conversations/{conversation_id}/evidence",
                         compliance)  # fmt: skip
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["acceptance"]["text"] == de.text
    assert bundle["governing"] == {"language": "en", "sha256": version.sha256,
                                   "text": version.text}  # fmt: skip
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle), encoding="utf-8")
    ok = parley("evidence", "verify", str(path))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "VALID" in ok.stdout

    edited = version.text.replace("agent", "bot", 1)
    tampered = {**bundle, "governing": {**bundle["governing"], "text": edited}}
    path.write_text(json.dumps(tampered), encoding="utf-8")
    failed = parley("evidence", "verify", str(path))
    assert failed.returncode != 0
    (line,) = [x for x in failed.stdout.splitlines() if x.startswith("FAIL")]
    assert "the governing text (en) does not hash to event 1's governing_sha256" in line
    assert hashlib.sha256(tampered["governing"]["text"].encode()).hexdigest() != version.sha256

    page = await api(
        served, f"/api/compliance/conversations/{conversation_id}/evidence?format=html",
        compliance,
    )  # fmt: skip
    assert page.status_code == 200
    assert (
        "Accepted in Deutsch (de); the English (en) text governs, SHA-256 "
        f'<span class="mono">{version.sha256}</span>'
    ) in page.text
    assert "The governing text, in English (en)" in page.text


async def test_a_barred_visitor_asking_for_another_language_is_told_they_are_barred(
    served: Server,
) -> None:
    token = served.add_staff("Ada Agent", "agent")
    async with visitor(served) as v, agent(served, token) as a:
        conversation_id = await v.accept()
        await a.send({"type": "join", "conversation_id": conversation_id})
        await a.expect("caught_up")
        await a.send({"type": "close", "conversation_id": conversation_id, "clause_id": "1.2",
                      "bar": {"hours": 1}})  # fmt: skip
        await a.expect("done")
        await v.expect("barred")
        await v.send({"type": "language", "language": "de"})
        error = await v.recv()
        assert_clean(error)
        assert error["code"] == "barred"
        assert await v.barrier() == []
