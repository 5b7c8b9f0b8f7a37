"""Policy versions: canonical text, digest, catalog rules, and the policy files that feed them."""

from __future__ import annotations

import hashlib
import json
import shutil
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from parley import policy_files
from parley.domain import policy
from parley.domain.policy import PolicyVersion
from parley.errors import PolicyConflict, PolicyInvalid, UnknownClause

POLICIES = Path(__file__).resolve().parents[2] / "policies"
SCHEMA = POLICIES / "policy.schema.json"
V1 = POLICIES / "conduct-v1.toml"
V2 = POLICIES / "conduct-v2.toml"

#: The digests of the published versions. Acceptances already stored name these:
#: if either changes, every recorded acceptance of that version stops matching.
PUBLISHED_SHA256 = {
    1: "0b34ca9c061365192a0762ce895be2f6508cf60ccfb37e84e7c758af236b10d5",
    2: "227f1f03292ead89245e7457dd1fe513bb226594774cbd1a03e7e7823d16f6c5",
}


def real_versions() -> dict[int, PolicyVersion]:
    return {v.version: v for v in policy_files.load_folder(POLICIES)}


def small_doc(**changes: Any) -> dict[str, Any]:
    """A schema-valid document small enough to read in a test."""
    doc: dict[str, Any] = {
        "policy_id": "conduct",
        "version": 1,
        "title": "Chat Conduct Policy",
        "effective": "2026-01-01T00:00:00Z",
        "preamble": "Be kind.\n\nWe mean it.",
        "sections": [
            {
                "id": "1",
                "title": "Respect",
                "clauses": [
                    {"id": "1.1", "title": "Abuse", "text": "Do not insult anyone."},
                    {"id": "1.2", "title": "Threats", "text": "Do not threaten anyone."},
                ],
            },
            {
                "id": "2",
                "title": "Privacy",
                "clauses": [{"id": "2.1", "title": "Data", "text": "Keep data private."}],
            },
        ],
    }
    doc.update(changes)
    return doc


def version_of(doc: dict[str, Any], source: str = "test.toml") -> PolicyVersion:
    return policy.from_document(doc, source)


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)


# --- canonical text and digest (invariant 2: exact wording) --------------------------------


def test_canonical_text_is_deterministic_across_loads() -> None:
    """Invariant 2: the same file always yields the same text, byte for byte."""
    first, second = real_versions(), real_versions()
    assert first[1].text == second[1].text
    assert first[2].text == second[2].text
    assert version_of(small_doc()).text == version_of(small_doc()).text


def test_sha256_is_the_digest_of_the_utf8_text() -> None:
    """Invariant 2: sha256 is the SHA-256 of the canonical text encoded as UTF-8."""
    doc = small_doc(preamble="Soyez polis — très polis.")
    v = version_of(doc)
    assert v.sha256 == hashlib.sha256(v.text.encode("utf-8")).hexdigest()
    for real in real_versions().values():
        assert real.sha256 == hashlib.sha256(real.text.encode("utf-8")).hexdigest()


def test_published_versions_keep_their_digest() -> None:
    """Invariant 3: a published version never changes (neither its file nor the text format)."""
    assert {n: v.sha256 for n, v in real_versions().items()} == PUBLISHED_SHA256


def test_text_holds_header_preamble_and_every_clause() -> None:
    """Invariant 2: the text shown holds the preamble and every clause's id, title and text."""
    for v in real_versions().values():
        assert v.text.startswith(f"{v.title}\n")
        assert f"Policy {v.policy_id}, version {v.version}" in v.text
        assert v.preamble in v.text
        for section in v.sections:
            assert f"{section.id}. {section.title}" in v.text
            for c in section.clauses:
                assert f"{c.id} {c.title}\n{c.text}" in v.text


def test_normalize_folds_line_ends_unicode_forms_and_trailing_spaces() -> None:
    """Invariant 2: normalize() gives one text for CRLF/CR, NFD and trailing-space variants."""
    plain = "Caf\u00e9 rules\n\nBe kind."
    assert policy.normalize(plain) == plain
    assert policy.normalize("Cafe\u0301 rules  \r\n\r\nBe kind.\t\r\n") == plain
    assert policy.normalize("\n\nCaf\u00e9 rules\r\rBe kind.\n\n") == plain


def test_equivalent_documents_have_the_same_digest() -> None:
    """Invariant 2: CRLF, NFD and trailing spaces in a file do not change the digest."""
    clean = version_of(small_doc(preamble="Caf\u00e9 rules apply.\n\nBe kind."))
    messy_doc = small_doc(preamble="Cafe\u0301 rules apply.   \r\n\r\nBe kind.  \r\n")
    messy_doc["sections"][0]["clauses"][0]["text"] = "Do not insult anyone.  \r\n"
    messy_doc["sections"][0]["title"] = "Respect  "
    assert version_of(messy_doc).sha256 == clean.sha256


def test_equivalent_files_have_the_same_digest(tmp_path: Path) -> None:
    """Invariant 2: a CRLF, NFD, trailing-space copy of a policy file has the same digest."""
    nfc = V1.read_text(encoding="utf-8").replace("(doxxing)", "(d\u00f6xxing)")
    messy = unicodedata.normalize("NFD", nfc)
    messy = messy.replace(".\n", ".   \n")
    messy = messy.replace("\n", "\r\n")
    assert messy != nfc
    clean_dir, messy_dir = tmp_path / "clean", tmp_path / "messy"
    clean_dir.mkdir()
    messy_dir.mkdir()
    (clean,) = policy_files.load_folder(folder_with(clean_dir, ("conduct-v1.toml", nfc)))
    shutil.copy(SCHEMA, messy_dir / SCHEMA.name)
    (messy_dir / "conduct-v1.toml").write_bytes(messy.encode("utf-8"))
    (loaded,) = policy_files.load_folder(messy_dir)
    assert loaded.sha256 == clean.sha256
    assert "(d\u00f6xxing)" in loaded.text


def test_one_character_of_a_clause_changes_the_digest() -> None:
    """Invariant 3: any change to a clause's text yields a different digest."""
    base = version_of(small_doc())
    changed = small_doc()
    changed["sections"][1]["clauses"][0]["text"] = "Keep data private!"
    assert version_of(changed).sha256 != base.sha256
    retitled = small_doc()
    retitled["sections"][0]["clauses"][1]["title"] = "Threat"
    assert version_of(retitled).sha256 != base.sha256


def test_clause_looks_up_by_id_and_refuses_unknown_ids() -> None:
    """Invariant 4: a clause id absent from the version raises UnknownClause."""
    v1 = real_versions()[1]
    assert v1.clause("1.2").title == "Threats and reprisals against staff"
    with pytest.raises(UnknownClause, match=r"'1\.4'"):
        v1.clause("1.4")
    with pytest.raises(UnknownClause):
        v1.clause("1")


# --- from_document: rules the schema cannot express ---------------------------------------


def test_clause_id_must_start_with_its_section_id() -> None:
    """Policy file rule: a clause id is '<section id>.<n>'; the problem names file and field."""
    doc = small_doc()
    doc["sections"][0]["clauses"][1]["id"] = "2.2"
    with pytest.raises(PolicyInvalid) as caught:
        version_of(doc, "policies/conduct-v9.toml")
    (problem,) = caught.value.problems
    assert problem.startswith("policies/conduct-v9.toml: $.sections[0].clauses[1].id: ")
    assert "'2.2'" in problem


def test_section_one_does_not_own_clauses_of_section_ten() -> None:
    """Policy file rule: the prefix is the whole section id plus a dot, not a string prefix."""
    doc = small_doc()
    doc["sections"][0]["clauses"][1]["id"] = "10.1"
    with pytest.raises(PolicyInvalid, match=r"\$\.sections\[0\]\.clauses\[1\]\.id"):
        version_of(doc)


def test_repeated_clause_id_is_refused() -> None:
    """Policy file rule: clause ids are unique; the repeat is named by file and field."""
    doc = small_doc()
    doc["sections"][0]["clauses"][1]["id"] = "1.1"
    with pytest.raises(PolicyInvalid) as caught:
        version_of(doc, "p.toml")
    (problem,) = caught.value.problems
    assert problem.startswith("p.toml: $.sections[0].clauses[1].id: ")
    assert "repeated" in problem


def test_repeated_section_id_is_refused() -> None:
    """Policy file rule: section ids are unique."""
    doc = small_doc()
    doc["sections"][1]["id"] = "1"
    doc["sections"][1]["clauses"][0]["id"] = "1.3"
    with pytest.raises(PolicyInvalid) as caught:
        version_of(doc, "p.toml")
    assert any(p.startswith("p.toml: $.sections[1].id: ") for p in caught.value.problems)


def test_every_problem_of_a_document_is_reported() -> None:
    """Policy file rule: all problems of a file are listed at once, not the first only."""
    doc = small_doc(effective="2026-02-30T00:00:00Z")
    doc["sections"][0]["clauses"][0]["id"] = "3.1"
    doc["sections"][1]["clauses"][0]["id"] = "1.2"
    with pytest.raises(PolicyInvalid) as caught:
        version_of(doc, "p.toml")
    problems = caught.value.problems
    assert any("$.sections[0].clauses[0].id" in p for p in problems)
    assert any("$.sections[1].clauses[0].id" in p for p in problems)
    assert any("$.effective" in p for p in problems)
    assert all(p.startswith("p.toml: ") for p in problems)


def test_to_document_round_trips_to_the_same_version() -> None:
    """Invariant 3: writing a text back as a document and reading it gives the same digest,
    in every language; the stored form keeps the translations too."""
    for v in real_versions().values():
        for text in (v, *v.translations):
            again = policy.from_document(json.loads(json.dumps(text.to_document())), "copy")
            assert again.sha256 == text.sha256
            assert again == replace(text, translations=(), governed_by=None)
        assert policy.from_stored(json.loads(json.dumps(policy.to_stored(v)))) == v


def test_to_document_satisfies_the_policy_schema() -> None:
    """Policy file format: to_document() writes what the schema accepts."""
    validator = Draft202012Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    for v in real_versions().values():
        assert list(validator.iter_errors(v.to_document())) == []


# --- catalog, publication and the version in force ----------------------------------------


def test_catalog_refuses_two_files_with_one_version() -> None:
    """Invariant 3: each version number is defined by one file only."""
    a, b = version_of(small_doc()), version_of(small_doc(title="Other"))
    with pytest.raises(PolicyInvalid) as caught:
        policy.check_catalog([("a.toml", a), ("b.toml", b)])
    (problem,) = caught.value.problems
    assert problem.startswith("b.toml: $.version: ")
    assert "a.toml" in problem


def test_catalog_refuses_mixed_policy_ids() -> None:
    """Policy catalog rule: all files of the folder are versions of one policy."""
    a = version_of(small_doc())
    b = version_of(small_doc(policy_id="privacy", version=2))
    with pytest.raises(PolicyInvalid, match=r"\['conduct', 'privacy'\]"):
        policy.check_catalog([("a.toml", a), ("b.toml", b)])


def test_catalog_accepts_distinct_versions_of_one_policy() -> None:
    """Policy catalog rule: distinct versions of one policy pass."""
    versions = [("a.toml", version_of(small_doc())), ("b.toml", version_of(small_doc(version=2)))]
    policy.check_catalog(versions)  # raises if the rule refused a valid catalog


def test_check_unchanged_refuses_a_changed_text_with_a_clear_message() -> None:
    """Invariant 3: republishing a version with other text names both digests and version+1."""
    published = version_of(small_doc(version=4))
    changed_doc = small_doc(version=4)
    changed_doc["sections"][0]["clauses"][0]["text"] = "Do not insult anybody."
    candidate = version_of(changed_doc)
    with pytest.raises(PolicyConflict) as caught:
        policy.check_unchanged(published, candidate, "policies/conduct-v4.toml")
    message = str(caught.value)
    assert message.startswith("policies/conduct-v4.toml: ")
    assert published.sha256 in message
    assert candidate.sha256 in message
    assert "version 5" in message


def test_check_unchanged_accepts_an_equivalent_file() -> None:
    """Invariant 3: only the text counts, so an equivalent (normalized) file is not a change."""
    published = version_of(small_doc())
    candidate = version_of(small_doc(preamble="Be kind.  \r\n\r\nWe mean it.\r\n"))
    policy.check_unchanged(published, candidate, "p.toml")  # raises PolicyConflict if refused


def test_in_force_is_the_latest_effective_version_not_in_the_future() -> None:
    """Gate: the version in force is the latest whose effective time has come."""
    v1 = version_of(small_doc(version=1, effective="2026-01-01T00:00:00Z"))
    v2 = version_of(small_doc(version=2, effective="2026-09-01T00:00:00Z"))
    v3 = version_of(small_doc(version=3, effective="2027-01-01T00:00:00Z"))
    versions = [v3, v1, v2]
    assert policy.in_force(versions, at("2025-12-31")) is None
    assert policy.in_force(versions, at("2026-01-01")) is v1
    assert policy.in_force(versions, at("2026-08-31")) is v1
    assert policy.in_force(versions, at("2026-09-01")) is v2
    assert policy.in_force(versions, at("2026-12-31")) is v2
    assert policy.in_force(versions, at("2030-01-01")) is v3
    assert policy.in_force([], at("2030-01-01")) is None


def test_in_force_prefers_the_higher_version_on_the_same_date() -> None:
    """Gate: two versions effective at the same time: the higher version is in force."""
    v1 = version_of(small_doc(version=1))
    v2 = version_of(small_doc(version=2))
    assert policy.in_force([v2, v1], at("2026-06-01")) is v2
    assert policy.in_force([v1, v2], at("2026-06-01")) is v2


def test_in_force_of_the_real_policy_ignores_the_future_version() -> None:
    """Gate: version 2 is not offered before its effective date."""
    versions = list(real_versions().values())
    assert policy.in_force(versions, at("2026-03-01")).version == 1  # type: ignore[union-attr]
    assert policy.in_force(versions, at("2026-09-02")).version == 2  # type: ignore[union-attr]


# --- policy_files.load_folder -------------------------------------------------------------


def test_the_real_folder_loads_two_versions() -> None:
    """Policy files: the shipped folder is valid and holds versions 1 and 2 of one policy."""
    versions = policy_files.load_folder(POLICIES)
    assert sorted(v.version for v in versions) == [1, 2]
    assert {v.policy_id for v in versions} == {"conduct"}
    assert real_versions()[1].clause("1.1").text != real_versions()[2].clause("1.1").text


def folder_with(tmp_path: Path, *files: tuple[str, str]) -> Path:
    """A policies folder: the real schema plus the given (name, TOML text) files."""
    shutil.copy(SCHEMA, tmp_path / SCHEMA.name)
    for name, text in files:
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def v1_with(old: str, new: str) -> str:
    """The text of conduct-v1.toml with one exact, unique fragment replaced."""
    text = V1.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return text.replace(old, new)


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(PolicyInvalid) as caught:
        policy_files.load_folder(folder)
    return caught.value.problems


BROKEN_FILES = {
    # name: (old fragment, new fragment, JSON path, a word the message must hold)
    "missing field": ('id = "1.2"\n', "", "$.sections[0].clauses[1]", "'id'"),
    "extra field": (
        'id = "1.2"\n',
        'id = "1.2"\ncolor = "red"\n',
        "$.sections[0].clauses[1]",
        "color",
    ),
    "wrong type": ('id = "1.2"', "id = 12", "$.sections[0].clauses[1].id", "string"),
    "wrong top-level type": ("version = 1\n", 'version = "1"\n', "$.version", "integer"),
    "bad clause prefix": ('id = "1.2"', 'id = "2.9"', "$.sections[0].clauses[1].id", "'2.9'"),
    "bad effective date": (
        'effective = "2026-01-01T00:00:00Z"',
        'effective = "2026-02-30T00:00:00Z"',
        "$.effective",
        "2026-02-30",
    ),
    "invalid toml": ("policy_id = ", "policy_id = = ", "$", "TOML"),
}


@pytest.mark.parametrize("case", list(BROKEN_FILES))
def test_a_broken_file_is_refused_naming_file_and_field(tmp_path: Path, case: str) -> None:
    """Policy files: each problem is reported as 'FILE: $.json.path: message'."""
    old, new, json_path, word = BROKEN_FILES[case]
    folder = folder_with(tmp_path, ("conduct-v1.toml", v1_with(old, new)))
    problems = problems_of(folder)
    path = str(folder / "conduct-v1.toml")
    matching = [p for p in problems if p.startswith(f"{path}: {json_path}: ")]
    assert matching, problems
    assert any(word in p for p in matching), matching


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    """Policy files: a folder without any version cannot put a policy in force."""
    folder = folder_with(tmp_path)
    (problem,) = problems_of(folder)
    assert str(folder) in problem
    assert "*.toml" in problem


def test_a_missing_schema_is_refused(tmp_path: Path) -> None:
    """Policy files: without the schema nothing is checked, so nothing is loaded."""
    shutil.copy(V1, tmp_path / V1.name)
    (problem,) = problems_of(tmp_path)
    assert str(tmp_path / "policy.schema.json") in problem


def test_all_problems_of_all_files_are_reported_at_once(tmp_path: Path) -> None:
    """Policy files: one run lists every problem of every file."""
    folder = folder_with(
        tmp_path,
        ("conduct-v1.toml", v1_with('id = "1.2"', 'id = "2.9"')),
        ("conduct-v2.toml", V2.read_text(encoding="utf-8").replace("version = 2\n", "")),
        ("conduct-v3.toml", "not = = toml"),
    )
    problems = problems_of(folder)
    text = "\n".join(problems)
    assert f"{folder / 'conduct-v1.toml'}: $.sections[0].clauses[1].id: " in text
    assert f"{folder / 'conduct-v2.toml'}: $: " in text
    assert "'version' is a required property" in text
    assert f"{folder / 'conduct-v3.toml'}: $: " in text


def test_catalog_problems_are_reported_with_file_problems(tmp_path: Path) -> None:
    """Policy files: a repeated version is reported in the same run as a broken file."""
    folder = folder_with(
        tmp_path,
        ("conduct-v1.toml", V1.read_text(encoding="utf-8")),
        ("conduct-v1-copy.toml", V1.read_text(encoding="utf-8")),
        ("conduct-v3.toml", "not = = toml"),
    )
    text = "\n".join(problems_of(folder))
    assert f"{folder / 'conduct-v3.toml'}: $: " in text
    assert "version 1 is also defined in" in text


def test_two_files_with_one_version_are_refused(tmp_path: Path) -> None:
    """Invariant 3: a folder cannot hold two different texts for one version."""
    folder = folder_with(
        tmp_path,
        ("conduct-v1.toml", V1.read_text(encoding="utf-8")),
        ("conduct-v1b.toml", v1_with("Do not insult", "Never insult")),
    )
    (problem,) = problems_of(folder)
    assert problem.startswith(f"{folder / 'conduct-v1b.toml'}: $.version: ")
    assert str(folder / "conduct-v1.toml") in problem


def test_notice_templates_are_immutable_with_their_version() -> None:
    """Invariant 3: the reviewed notice changes only with a new version."""
    v2 = real_versions()[2]
    changed = replace(v2, notice=(("closure", "Bye."), ("warning", "Stop.")))
    assert changed.sha256 == v2.sha256, "the notice is not part of the canonical text"
    with pytest.raises(PolicyConflict, match="notice templates"):
        policy.check_unchanged(v2, changed, "conduct-v2.toml")


def test_a_notice_with_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    for name in ("conduct-v1.toml", "conduct-v2.toml", "policy.schema.json"):
        (tmp_path / name).write_text((POLICIES / name).read_text(encoding="utf-8"))
    v2 = tmp_path / "conduct-v2.toml"
    v2.write_text(
        v2.read_text(encoding="utf-8").replace("{examples}If this", "{visitor_name}If this")
    )
    with pytest.raises(PolicyInvalid) as caught:
        policy_files.load_folder(tmp_path)
    assert any("$.notice.warning" in p and "visitor_name" in p for p in caught.value.problems)


def test_notices_quote_the_clause_and_the_examples() -> None:
    v2 = real_versions()[2]
    clause = v2.clause("4.1")
    text = policy.render_notice(v2.notice_template("warning"), clause, ["“HELLO”"], "c_12345678")
    assert clause.text in text and "- “HELLO”" in text
    assert "{" not in text
