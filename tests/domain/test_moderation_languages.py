"""Citing a clause to a visitor who accepted a translation: their language, and what governs."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parley import policy_files
from parley.domain import conversation as conv
from parley.domain import moderation
from parley.domain.conversation import ClientContext, Conversation
from parley.domain.policy import PolicyVersion
from parley.domain.transcript import Author, Event, Role
from parley.errors import UnknownClause
from translated import with_german

POLICIES = Path(__file__).resolve().parents[2] / "policies"
T0 = datetime(2026, 3, 1, 9, 0, 0, tzinfo=UTC)
AGENT = Author(Role.AGENT, "a_ada", "Ada")
CLIENT = ClientContext(
    ip="203.0.113.7",
    user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    locale="de-DE",
    page_url="https://shop.example/hilfe",
    widget_build="w-2026.03.01",
    time_zone="Europe/Berlin",
)


@pytest.fixture(scope="module")
def v1() -> PolicyVersion:
    """Version 1 in English (governing) with its German translation attached."""
    return with_german(policy_files.load_folder(POLICIES)[0])


def joined(accepted: PolicyVersion) -> tuple[Conversation, Event]:
    """An open conversation whose visitor accepted ``accepted`` and said something rude."""
    first = conv.start(
        conversation_id="c_00000001",
        visitor_id="v_1",
        previous=None,
        offered=accepted,
        answer=accepted.ref,
        client=CLIENT,
        at=T0,
    )
    said = conv.visitor_message(first.conversation, "Ihr seid alle Idioten", "m1", T0)
    third = conv.agent_join(said.conversation, AGENT, T0)
    assert third is not None
    return third.conversation, said.event


def test_a_warning_quotes_the_german_clause_and_notice_and_the_governing_english_clause(
    v1: PolicyVersion,
) -> None:
    """Issue 16: the visitor reads the clause they accepted, in their language; the agent and any
    reader see the governing clause beside it."""
    de = v1.for_language("de")
    c, rude = joined(de)
    step = moderation.warn(c, de, AGENT, "1.1", "bitte", [rude], T0, governing=v1)
    assert step.event.data == {
        "policy_id": "conduct",
        "version": 1,
        "sha256": de.sha256,
        "clause": {"id": "1.1", "title": "Regel 1.1", "text": "Der deutsche Wortlaut von 1.1."},
        "note": "bitte",
        "messages": [{"seq": 2, "text": "Ihr seid alle Idioten"}],
        "notice": "Bitte beachten Sie Regel 1.1, „Regel 1.1“:\n\n"
        "Der deutsche Wortlaut von 1.1.\n\nZum Beispiel:\n- “Ihr seid alle Idioten”",
        "language": "de",
        "governing": {
            "language": "en",
            "sha256": v1.sha256,
            "clause": {
                "id": "1.1",
                "title": "Abusive or harassing language",
                "text": v1.clause("1.1").text,
            },
        },
    }


def test_a_closure_quotes_the_german_clause_and_notice_and_the_governing_english_clause(
    v1: PolicyVersion,
) -> None:
    de = v1.for_language("de")
    c, _ = joined(de)
    data = moderation.close_for_violation(c, de, AGENT, "1.2", None, T0, governing=v1).event.data
    assert data["clause"] == {"id": "1.2", "title": "Regel 1.2", "text": de.clause("1.2").text}
    assert data["notice"] == (
        "Dieses Gespräch wurde nach Regel 1.2, „Regel 1.2“, beendet:\n\n"
        "Der deutsche Wortlaut von 1.2.\n\nReferenz: c_00000001"
    )
    assert data["language"] == "de"
    assert data["governing"]["clause"]["text"] == v1.clause("1.2").text


def english_citations(accepted: PolicyVersion) -> list[str]:
    c, rude = joined(accepted)
    warned = moderation.warn(c, accepted, AGENT, "1.1", "n", [rude], T0)
    closed = moderation.close_for_violation(warned.conversation, accepted, AGENT, "1.2", None, T0)
    return [json.dumps(e.data, sort_keys=True) for e in (warned.event, closed.event)]


def test_an_english_citation_is_byte_for_byte_what_it_was_before_translations(
    v1: PolicyVersion,
) -> None:
    """Translations change nothing for a visitor who accepted the English governing text."""
    untranslated = replace(v1, translations=())
    assert english_citations(v1) == english_citations(untranslated)
    warning = json.loads(english_citations(v1)[0])
    assert sorted(warning) == ["clause", "messages", "note", "notice", "policy_id", "sha256",
                               "version"]  # fmt: skip
    assert "\n\nFor example:\n- “Ihr seid alle Idioten”\n\n" in warning["notice"]


def test_a_text_governing_in_german_names_its_language_and_nothing_governs_beside_it(
    v1: PolicyVersion,
) -> None:
    governing_de = replace(v1.for_language("de"), governing_language="de", governed_by=None)
    c, _ = joined(governing_de)
    data = moderation.warn(c, governing_de, AGENT, "1.1", None, [], T0).event.data
    assert data["language"] == "de"
    assert "governing" not in data
    assert data["notice"].startswith("Bitte beachten Sie Regel 1.1")


def test_an_unknown_clause_is_refused_in_any_language(v1: PolicyVersion) -> None:
    de = v1.for_language("de")
    c, _ = joined(de)
    with pytest.raises(UnknownClause, match=r"no clause '1\.9'"):
        moderation.warn(c, de, AGENT, "1.9", None, [], T0, governing=v1)
    with pytest.raises(UnknownClause):
        moderation.close_for_violation(c, de, AGENT, "1.9", None, T0, governing=v1)


def test_a_translation_is_cited_only_with_the_text_it_translates(v1: PolicyVersion) -> None:
    """Quoting a translation without (or with another) governing text is a caller's bug."""
    de = v1.for_language("de")
    c, _ = joined(de)
    with pytest.raises(ValueError, match="is governed by"):
        moderation.warn(c, de, AGENT, "1.1", None, [], T0)
    other = replace(v1, preamble="Another text.", translations=())
    with pytest.raises(ValueError, match="is governed by"):
        moderation.close_for_violation(c, de, AGENT, "1.1", None, T0, governing=other)
