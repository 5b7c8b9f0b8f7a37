"""A policy version in several languages: each its own text and digest, one governs."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from test_policy import V1, folder_with, small_doc, version_of

from parley import policy_files
from parley.domain import policy
from parley.errors import PolicyConflict, PolicyInvalid, UnknownLanguage

NOTICE = {
    "warning": "Bitte beachten Sie Regel {clause_id}.\n\n{examples}",
    "closure": "Beendet: {clause_id}.",
    "examples": "Zum Beispiel:",
}


def german(**changes: Any) -> dict[str, Any]:
    doc = small_doc(
        language="de",
        title="Verhaltensrichtlinie",
        version_line="Richtlinie {policy_id}, Version {version}, gültig ab {effective}",
        preamble="Seien Sie freundlich.",
        notice=dict(NOTICE),
        sections=[
            {
                "id": "1",
                "title": "Respekt",
                "clauses": [
                    {"id": "1.1", "title": "Beleidigungen", "text": "Beleidigen Sie niemanden."},
                    {"id": "1.2", "title": "Drohungen", "text": "Drohen Sie niemandem."},
                ],
            },
            {
                "id": "2",
                "title": "Datenschutz",
                "clauses": [{"id": "2.1", "title": "Daten", "text": "Daten bleiben privat."}],
            },
        ],
    )
    doc.update(changes)
    return doc


def catalog(*docs: dict[str, Any]) -> list[policy.PolicyVersion]:
    return policy.check_catalog([(f"f{i}.toml", version_of(d)) for i, d in enumerate(docs)])


def problems(*docs: dict[str, Any]) -> str:
    with pytest.raises(PolicyInvalid) as caught:
        catalog(*docs)
    return "\n".join(caught.value.problems)


def test_each_language_has_its_own_text_and_digest_and_knows_the_governing_one() -> None:
    (v1,) = catalog(small_doc(), german())
    de = v1.in_language("de")
    assert v1.languages == ("en", "de")
    assert de.text.startswith(
        "Verhaltensrichtlinie\nRichtlinie conduct, Version 1, gültig ab 2026-01-01T00:00:00Z\n\n"
    )
    assert "1.2 Drohungen\nDrohen Sie niemandem." in de.text
    assert de.sha256 == hashlib.sha256(de.text.encode()).hexdigest() != v1.sha256
    assert de.governing_sha256 == v1.sha256 == v1.governing_sha256
    assert de.clause("1.2").title == "Drohungen"


def test_an_english_text_is_unchanged_by_the_language_keys() -> None:
    """The published English digests must not move when the files gain language keys."""
    plain = version_of(small_doc())
    explicit = version_of(small_doc(language="en", governing_language="en"))
    assert explicit.sha256 == plain.sha256
    assert plain.to_document() == small_doc()


def test_the_visitor_language_is_negotiated_and_falls_back_to_the_governing_text() -> None:
    (v1,) = catalog(small_doc(), german())
    assert v1.negotiate("de-AT").language == "de"
    assert v1.negotiate(None, "es", "de").language == "de"
    assert v1.negotiate("ja").language == "en"
    with pytest.raises(UnknownLanguage, match="published in en, de, not 'ja'"):
        v1.in_language("ja")


def test_a_translation_missing_a_clause_is_refused() -> None:
    doc = german()
    doc["sections"][0]["clauses"].pop()
    text = problems(small_doc(), doc)
    assert (
        "f1.toml: $.sections: a translation has exactly the sections and clauses of f0.toml" in text
    )
    assert "expected 1: 1.1, 1.2; 2: 2.1, found 1: 1.1; 2: 2.1" in text


def test_a_translation_with_clauses_in_another_order_is_refused() -> None:
    doc = german()
    doc["sections"][0]["clauses"].reverse()
    assert "$.sections: a translation has exactly the sections" in problems(small_doc(), doc)


@pytest.mark.parametrize("missing", ["warning", "closure", "examples"])
def test_a_text_not_in_english_needs_its_own_notice_templates(missing: str) -> None:
    """The built-in notices are English: a German visitor must not be warned in English."""
    doc = german()
    del doc["notice"][missing]
    expected = "f1.toml: $.notice: a text in 'de' needs its own notice templates"
    assert expected in problems(small_doc(), doc)
    assert "f0.toml: $.notice: a text in 'de'" in problems(doc | {"governing_language": "de"})


def test_a_notice_lists_the_quoted_messages_under_the_heading_of_its_language() -> None:
    de = version_of(german())
    notice = policy.render_notice(
        de.notice_template("warning"),
        de.clause("1.1"),
        ["Idiot!"],
        "c_1",
        de.notice_template("examples"),
    )
    assert notice == "Bitte beachten Sie Regel 1.1.\n\nZum Beispiel:\n- Idiot!"


def test_a_translation_takes_effect_with_its_version() -> None:
    text = problems(small_doc(), german(effective="2026-02-01T00:00:00Z"))
    assert "f1.toml: $.effective: a translation takes effect with its version" in text


def test_files_of_a_version_agree_on_the_governing_language() -> None:
    text = problems(small_doc(), german(governing_language="de"))
    assert "disagree on the governing language (de, en)" in text


def test_a_version_needs_a_file_in_its_governing_language() -> None:
    text = problems(german(governing_language="fr"))
    assert "version 1 has no file in its governing language 'fr'" in text


def test_two_files_of_one_language_are_refused() -> None:
    assert "version 1 is also defined in f1.toml (both in 'de')" in problems(
        small_doc(), german(), german()
    )


def test_a_translation_may_govern() -> None:
    (v1,) = catalog(small_doc(governing_language="de"), german(governing_language="de"))
    assert v1.language == "de"
    assert v1.languages == ("de", "en")
    assert v1.in_language("en").governing_sha256 == v1.sha256


def test_version_line_placeholders_are_checked() -> None:
    with pytest.raises(PolicyInvalid, match=r"\$\.version_line: unknown placeholder \['title'\]"):
        version_of(german(version_line="{title} {version}"))


def test_the_stored_form_keeps_every_language() -> None:
    (v1,) = catalog(small_doc(), german())
    again = policy.from_stored(policy.to_stored(v1))
    assert again == v1
    assert again.in_language("de").text == v1.in_language("de").text


def test_a_document_stored_before_translations_reads_as_english_only() -> None:
    v1 = policy.from_stored(small_doc())
    assert v1.languages == ("en",)


def test_publishing_may_add_a_language_but_never_change_one() -> None:
    (english,) = catalog(small_doc())
    (both,) = catalog(small_doc(), german())
    merged = policy.merge_published(english, both)
    assert merged is not None and merged.languages == ("en", "de")
    assert policy.merge_published(merged, both) is None
    assert policy.merge_published(merged, english) is None  # a language stays published
    (changed,) = catalog(small_doc(), german(preamble="Anders."))
    with pytest.raises(PolicyConflict, match="version 1 in 'de' was already published"):
        policy.merge_published(merged, changed)


def test_the_folder_check_fails_on_a_translation_missing_a_clause(tmp_path: Path) -> None:
    """`parley policy check` reads the files the same way and names the translation."""
    english = V1.read_text(encoding="utf-8")
    translation = english.replace("version = 1\n", 'version = 1\nlanguage = "de"\n', 1).replace(
        "[notice]\n", '[notice]\nexamples = "Zum Beispiel:"\n'
    )
    dropped = translation.index('[[sections.clauses]]\nid = "2.3"')
    translation = translation[:dropped] + translation[translation.index("[[sections]]", dropped) :]
    folder = folder_with(
        tmp_path, ("conduct-v1.toml", english), ("conduct-v1.de.toml", translation)
    )
    with pytest.raises(PolicyInvalid) as caught:
        policy_files.load_folder(folder)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{folder / 'conduct-v1.de.toml'}: $.sections: ")
    assert "found 1: 1.1, 1.2, 1.3; 2: 2.1, 2.2; 3:" in problem
