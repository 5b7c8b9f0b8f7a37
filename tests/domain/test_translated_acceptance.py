"""Accepting a policy version in one of its languages: the text read is the text recorded."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_policy import small_doc
from test_policy_languages import catalog, german

from parley.domain import conversation as conv
from parley.domain import language, receipt
from parley.domain.anchor import public_bytes, sign_json
from parley.domain.conversation import Answer, ClientContext, Conversation
from parley.domain.policy import PolicyRef, PolicyVersion
from parley.errors import PolicyMismatch

T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
CLIENT = ClientContext("203.0.113.7", "Mozilla/5.0", "de-DE")


@pytest.fixture(scope="module")
def v1() -> PolicyVersion:
    (version,) = catalog(small_doc(), german())
    return version


def start(offered: PolicyVersion, answer: Answer | PolicyRef) -> conv.Transition:
    return conv.start(
        conversation_id="c_00000001", visitor_id="v_1", previous=None, offered=offered,
        answer=answer, client=CLIENT, at=T0,
    )  # fmt: skip


def test_an_acceptance_in_german_records_the_german_text_and_the_governing_digest(
    v1: PolicyVersion,
) -> None:
    de = v1.for_language("de")
    step = start(v1, Answer("conduct", 1, de.sha256, "de"))
    data = step.event.data
    assert (data["text"], data["sha256"], data["title"]) == (de.text, de.sha256, de.title)
    assert data["document"] == de.to_document()
    assert data["document"]["language"] == "de"
    assert (data["language"], data["governing_language"]) == ("de", "en")
    assert data["governing_sha256"] == v1.sha256 != de.sha256
    assert step.conversation.policy == PolicyRef("conduct", 1, de.sha256, "de")


def test_without_a_language_the_text_whose_digest_is_echoed_is_the_one_accepted(
    v1: PolicyVersion,
) -> None:
    de = v1.for_language("de")
    assert start(v1, Answer("conduct", 1, de.sha256)).event.data["language"] == "de"
    assert start(v1, Answer("conduct", 1, v1.sha256)).event.data["language"] == "en"
    assert start(v1, v1.ref).event.data["language"] == "en"


def test_a_language_is_matched_without_regard_to_case(v1: PolicyVersion) -> None:
    de = v1.for_language("de")
    assert start(v1, Answer("conduct", 1, de.sha256, "DE")).event.data["language"] == "de"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(lambda v: Answer("conduct", 1, v.sha256, "de"), id="english-digest-as-de"),
        pytest.param(
            lambda v: Answer("conduct", 1, v.for_language("de").sha256, "en"), id="de-digest-as-en"
        ),
        pytest.param(lambda v: Answer("conduct", 1, v.sha256, "fr"), id="unpublished-language"),
        pytest.param(
            lambda v: Answer("conduct", 2, v.for_language("de").sha256, "de"), id="other-version"
        ),
    ],
)
def test_a_digest_that_is_not_the_text_in_the_language_named_is_refused(
    v1: PolicyVersion, answer: object
) -> None:
    with pytest.raises(PolicyMismatch) as caught:
        start(v1, answer(v1))  # type: ignore[operator]
    assert f"en {v1.sha256}" in str(caught.value)
    assert f"de {v1.for_language('de').sha256}" in str(caught.value)


def test_a_ref_names_its_language_and_old_snapshots_read_as_english(v1: PolicyVersion) -> None:
    de = v1.for_language("de")
    assert de.ref != PolicyRef("conduct", 1, de.sha256)
    assert de.ref == PolicyRef("conduct", 1, de.sha256, "de")
    snapshot = start(v1, de.ref).conversation
    again = Conversation.from_dict(json.loads(json.dumps(snapshot.to_dict())))
    assert again == snapshot and again.policy.language == "de"
    old = snapshot.to_dict()
    old["policy"] = {"policy_id": "conduct", "version": 1, "sha256": v1.sha256}
    assert Conversation.from_dict(old).policy == v1.ref == PolicyRef("conduct", 1, v1.sha256, "en")


def test_a_receipt_of_a_translated_acceptance_names_its_language_and_governing_digest(
    v1: PolicyVersion,
) -> None:
    key = Ed25519PrivateKey.generate()
    de = v1.for_language("de")
    step = start(v1, de.ref)
    signed = receipt.issue(key, step.event, step.conversation, T0)
    body = receipt.verify(signed, public_bytes(key.public_key()))
    assert (body["language"], body["governing_sha256"], body["text_sha256"]) == (
        "de", v1.sha256, de.sha256,
    )  # fmt: skip
    assert receipt.contradictions(body, step.conversation.id, [step.event]) == []
    edited = {**step.event.data, "governing_sha256": "0" * 64}
    rewritten = [replace(step.event, data=edited)]
    assert any(
        p.startswith("governing_sha256: the receipt says")
        for p in receipt.contradictions(body, step.conversation.id, rewritten)
    )


def test_a_receipt_issued_before_translations_still_verifies(v1: PolicyVersion) -> None:
    key = Ed25519PrivateKey.generate()
    step = start(v1, v1.ref)
    signed = receipt.issue(key, step.event, step.conversation, T0)
    older = {
        k: v for k, v in signed["receipt"].items() if k not in ("language", "governing_sha256")
    }
    resigned = {"receipt": older, "signature": sign_json(key, older)}
    assert receipt.problems(resigned, public_bytes(key.public_key())) == []


def test_the_frame_schema_takes_exactly_the_tags_the_domain_takes() -> None:
    text = (resources.files("parley.protocol") / "schemas" / "common.json").read_text("utf-8")
    assert json.loads(text)["$defs"]["language"]["pattern"] == language.TAG.pattern


def test_a_language_is_named_for_people_by_its_own_name() -> None:
    assert language.named("de") == "Deutsch (de)"
    assert language.named("en") == "English (en)"
    assert language.named("pt-BR") == "Português (pt-BR)"
    assert language.named("tlh") == "tlh"
