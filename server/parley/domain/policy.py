"""Conduct policy versions: their canonical text, its digest, and which one is in force.

This module is the one place that defines the exact string a visitor is shown
(:attr:`PolicyVersion.text`) and its SHA-256 (:attr:`PolicyVersion.sha256`).
It is pure: documents come in already parsed, times are passed in.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property
from string import Formatter
from typing import Any

from parley.domain import language as tags
from parley.errors import PolicyConflict, PolicyInvalid, UnknownClause, UnknownLanguage

EFFECTIVE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: The language of a policy file that names none, and the governing language by default.
DEFAULT_LANGUAGE = "en"
#: The canonical text's second line unless a file sets ``version_line``.
DEFAULT_VERSION_LINE = "Policy {policy_id}, version {version}, effective {effective}"
#: The placeholders ``version_line`` may use.
VERSION_LINE_FIELDS = frozenset({"policy_id", "version", "effective"})


def normalize(text: str) -> str:
    """``text`` as shown: NFC, LF line ends, no trailing spaces, no outer blank lines."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


@dataclass(frozen=True)
class Clause:
    id: str
    title: str
    text: str

    @property
    def block(self) -> str:
        """How the clause reads in the canonical text: ``"1.2 Title"`` then its text."""
        return f"{self.id} {self.title}\n{self.text}"


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    clauses: tuple[Clause, ...]


#: The placeholders a notice template may use.
NOTICE_FIELDS = frozenset(
    {"clause_id", "clause_title", "clause_text", "examples", "conversation_id"}
)

DEFAULT_NOTICE = {
    "warning": 'Please follow rule {clause_id}, "{clause_title}":\n\n{clause_text}\n\n{examples}',
    "closure": (
        'This conversation was ended under rule {clause_id}, "{clause_title}":\n\n'
        "{clause_text}\n\n{examples}Reference: {conversation_id}"
    ),
    # The line above the visitor's messages a notice quotes ({examples}).
    "examples": "For example:",
}


def render_notice(
    template: str,
    clause: Clause,
    examples: list[str],
    conversation_id: str,
    heading: str = DEFAULT_NOTICE["examples"],
) -> str:
    """Fill a notice template; ``examples`` become a list under ``heading``, or nothing."""
    listed = "".join(f"- {e}\n" for e in examples)
    return template.format_map(
        {
            "clause_id": clause.id,
            "clause_title": clause.title,
            "clause_text": clause.text,
            "examples": f"{heading}\n{listed}\n" if examples else "",
            "conversation_id": conversation_id,
        }
    ).strip()


@dataclass(frozen=True)
class PolicyRef:
    """Names one version of a policy and pins its exact text, in one language, by digest."""

    policy_id: str
    version: int
    sha256: str
    #: The language of the text ``sha256`` pins (references made before translations: English).
    language: str = DEFAULT_LANGUAGE


@dataclass(frozen=True)
class PolicyVersion:
    """One immutable version of a conduct policy, in one language.

    The version's text in its governing language carries the other languages in
    :attr:`translations`; each translation has its own text and digest, the same clause
    ids, and records the governing text's digest in :attr:`governed_by`.
    """

    policy_id: str
    version: int
    title: str
    effective: datetime
    preamble: str
    sections: tuple[Section, ...]
    #: Templates of what the visitor is told on a warning or a closure (not part of the text).
    notice: tuple[tuple[str, str], ...] = ()
    #: The language of this text (a BCP 47 tag), and the language whose text governs.
    language: str = DEFAULT_LANGUAGE
    governing_language: str = DEFAULT_LANGUAGE
    #: Template of the canonical text's second line.
    version_line: str = DEFAULT_VERSION_LINE
    #: On the governing text: the version in its other languages (not part of the text).
    translations: tuple[PolicyVersion, ...] = ()
    #: On a translation: the SHA-256 of the governing text it translates.
    governed_by: str | None = None

    def notice_template(self, kind: str) -> str:
        return dict(self.notice).get(kind, DEFAULT_NOTICE[kind])

    @cached_property
    def text(self) -> str:
        """The canonical text: exactly what a visitor is shown and accepts."""
        line = self.version_line.format_map(
            {
                "policy_id": self.policy_id,
                "version": self.version,
                "effective": self.effective.strftime(EFFECTIVE_FORMAT),
            }
        )
        blocks = [f"{self.title}\n{line}", self.preamble]
        for section in self.sections:
            blocks.append(f"{section.id}. {section.title}")
            blocks.extend(c.block for c in section.clauses)
        return "\n\n".join(blocks) + "\n"

    @cached_property
    def sha256(self) -> str:
        """Hex SHA-256 of the UTF-8 encoding of :attr:`text`."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def ref(self) -> PolicyRef:
        return PolicyRef(self.policy_id, self.version, self.sha256, self.language)

    @property
    def governing_sha256(self) -> str:
        """The digest of the text that governs in case of doubt (this one's, untranslated)."""
        return self.governed_by or self.sha256

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages of this version: the governing one first, then the others by tag."""
        return (self.language, *sorted(t.language for t in self.translations))

    def in_language(self, tag: str) -> PolicyVersion:
        """This version's text in the language ``tag`` names (lookup as in :func:`language.best`).

        Raises :class:`UnknownLanguage` if the version is not published in that language.
        """
        found = tags.best(self.languages, [tag])
        if found is None:
            raise UnknownLanguage(
                f"policy {self.policy_id} version {self.version} is published in "
                f"{', '.join(self.languages)}, not {tag!r}"
            )
        return self.for_language(found)

    def for_language(self, tag: str) -> PolicyVersion:
        """The text in exactly the language ``tag`` (one of :attr:`languages`)."""
        if tag == self.language:
            return self
        return next(t for t in self.translations if t.language == tag)

    def negotiate(self, *wanted: str | None) -> PolicyVersion:
        """The text in the first ``wanted`` language this version has, else the governing text."""
        found = tags.best(self.languages, wanted)
        return self.for_language(found) if found else self

    def with_translations(self, translations: Iterable[PolicyVersion]) -> PolicyVersion:
        """This governing text with ``translations`` attached, each bound to its digest."""
        bound = (replace(t, governed_by=self.sha256, translations=()) for t in translations)
        return replace(self, translations=tuple(sorted(bound, key=lambda t: t.language)))

    @cached_property
    def clauses(self) -> Mapping[str, Clause]:
        return {c.id: c for s in self.sections for c in s.clauses}

    def clause(self, clause_id: str) -> Clause:
        """Return the clause with this id; raise :class:`UnknownClause` if this version has none."""
        try:
            return self.clauses[clause_id]
        except KeyError:
            raise UnknownClause(
                f"policy {self.policy_id} version {self.version} has no clause {clause_id!r}"
            ) from None

    def to_document(self) -> dict[str, Any]:
        """This text in the policy file format (the inverse of :func:`from_document`).

        The language keys appear only when they differ from the defaults, so a document of an
        English version published before translations existed is unchanged.
        """
        notice = {"notice": dict(self.notice)} if self.notice else {}
        localized = {
            key: value
            for key, value, default in (
                ("language", self.language, DEFAULT_LANGUAGE),
                ("governing_language", self.governing_language, DEFAULT_LANGUAGE),
                ("version_line", self.version_line, DEFAULT_VERSION_LINE),
            )
            if value != default
        }
        return (
            notice
            | localized
            | {
                "policy_id": self.policy_id,
                "version": self.version,
                "title": self.title,
                "effective": self.effective.strftime(EFFECTIVE_FORMAT),
                "preamble": self.preamble,
                "sections": [
                    {
                        "id": s.id,
                        "title": s.title,
                        "clauses": [
                            {"id": c.id, "title": c.title, "text": c.text} for c in s.clauses
                        ],
                    }
                    for s in self.sections
                ],
            }
        )


def to_stored(version: PolicyVersion) -> dict[str, Any]:
    """How a store keeps a version: its governing document with its translations' documents."""
    return version.to_document() | {"translations": [t.to_document() for t in version.translations]}


def from_stored(doc: Mapping[str, Any]) -> PolicyVersion:
    """The inverse of :func:`to_stored` (a document stored before translations has none)."""
    governing = from_document({k: v for k, v in doc.items() if k != "translations"}, "store")
    translations = [from_document(t, "store") for t in doc.get("translations", ())]
    return governing.with_translations(translations)


def _placeholder_problems(template: str, allowed: frozenset[str], where: str) -> list[str]:
    try:
        names = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
    except ValueError as e:
        return [f"{where}: {e}"]
    if unknown := names - allowed:
        return [f"{where}: unknown placeholder {sorted(unknown)}; use {', '.join(sorted(allowed))}"]
    return []


def from_document(doc: Mapping[str, Any], source: str) -> PolicyVersion:
    """Build a version from a schema-valid document; check the rules a schema cannot express.

    Raises :class:`PolicyInvalid` naming ``source`` and the field for each problem:
    a clause id that does not start with its section's id, or a repeated id.
    """
    problems: list[str] = []
    seen: set[str] = set()
    sections = []
    for i, s in enumerate(doc["sections"]):
        if s["id"] in seen:
            problems.append(f"{source}: $.sections[{i}].id: section id {s['id']!r} is repeated")
        seen.add(s["id"])
        clauses = []
        for j, c in enumerate(s["clauses"]):
            where = f"{source}: $.sections[{i}].clauses[{j}].id"
            if not c["id"].startswith(s["id"] + "."):
                problems.append(f"{where}: clause {c['id']!r} must start with {s['id']!r}.")
            if c["id"] in seen:
                problems.append(f"{where}: clause id {c['id']!r} is repeated")
            seen.add(c["id"])
            clauses.append(Clause(c["id"], normalize(c["title"]), normalize(c["text"])))
        sections.append(Section(s["id"], normalize(s["title"]), tuple(clauses)))
    try:
        effective = datetime.strptime(doc["effective"], EFFECTIVE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        problems.append(f"{source}: $.effective: {doc['effective']!r} is not a real UTC time")
        effective = datetime.min.replace(tzinfo=UTC)
    notice = {k: normalize(v) for k, v in doc.get("notice", {}).items()}
    for kind, template in notice.items():
        problems += _placeholder_problems(template, NOTICE_FIELDS, f"{source}: $.notice.{kind}")
    version_line = doc.get("version_line", DEFAULT_VERSION_LINE)
    problems += _placeholder_problems(
        version_line, VERSION_LINE_FIELDS, f"{source}: $.version_line"
    )
    if problems:
        raise PolicyInvalid(problems)
    return PolicyVersion(
        policy_id=doc["policy_id"],
        version=doc["version"],
        title=normalize(doc["title"]),
        effective=effective,
        preamble=normalize(doc["preamble"]),
        sections=tuple(sections),
        notice=tuple(sorted(notice.items())),
        language=doc.get("language", DEFAULT_LANGUAGE),
        governing_language=doc.get("governing_language", DEFAULT_LANGUAGE),
        version_line=version_line,
    )


def check_catalog(files: Sequence[tuple[str, PolicyVersion]]) -> list[PolicyVersion]:
    """Check that a set of files forms one policy; return its versions, translations attached.

    ``files`` pairs each file name with its parsed text. Every version has exactly one
    file in its governing language and at most one per other language; every file of a
    version names the same governing language and effective time; a translation has the
    governing text's sections and clauses (same ids, same order), and notice templates of
    its own unless it is English (the built-in templates are English). Raises
    :class:`PolicyInvalid` listing every problem.
    """
    problems: list[str] = []
    ids = {v.policy_id for _, v in files}
    if len(ids) > 1:
        problems.append(f"policies: all files must share one policy_id, found {sorted(ids)}")
    by_version: dict[int, list[tuple[str, PolicyVersion]]] = {}
    for source, v in files:
        by_version.setdefault(v.version, []).append((source, v))
    versions = []
    for number, texts in sorted(by_version.items()):
        version_problems = _version_problems(number, texts)
        problems += version_problems
        if not version_problems:
            governing = next(v for _, v in texts if v.language == v.governing_language)
            others = [v for _, v in texts if v is not governing]
            versions.append(governing.with_translations(others))
    if problems:
        raise PolicyInvalid(problems)
    return versions


def _outline(v: PolicyVersion) -> list[tuple[str, list[str]]]:
    return [(s.id, [c.id for c in s.clauses]) for s in v.sections]


def _version_problems(number: int, texts: Sequence[tuple[str, PolicyVersion]]) -> list[str]:
    """What is wrong with the files of one version number, in their several languages."""
    problems: list[str] = []
    languages: dict[str, str] = {}
    for source, v in texts:
        key = v.language.lower()
        if key in languages:
            problems.append(
                f"{source}: $.version: version {number} is also defined in {languages[key]} "
                f"(both in {v.language!r})"
            )
        languages[key] = source
    governing_languages = {v.governing_language.lower() for _, v in texts}
    if len(governing_languages) > 1:
        return problems + [
            f"{source}: $.governing_language: the files of version {number} disagree on the "
            f"governing language ({', '.join(sorted(governing_languages))})"
            for source, _ in texts
        ]
    (governing_language,) = governing_languages
    governing = [(s, v) for s, v in texts if v.language.lower() == governing_language]
    if len(governing) != 1:
        if not governing:
            problems.append(
                f"{texts[0][0]}: $.governing_language: version {number} has no file in its "
                f"governing language {governing_language!r}"
            )
        return problems
    ((governing_source, reference),) = governing
    for source, v in texts:
        if v is reference:
            continue
        if v.effective != reference.effective:
            problems.append(
                f"{source}: $.effective: a translation takes effect with its version: "
                f"{reference.effective.strftime(EFFECTIVE_FORMAT)}, as in {governing_source}"
            )
        if _outline(v) != _outline(reference):
            problems.append(
                f"{source}: $.sections: a translation has exactly the sections and clauses of "
                f"{governing_source} (same ids, same order): expected "
                f"{_describe(reference)}, found {_describe(v)}"
            )
    for source, v in texts:
        if tags.primary(v.language) != DEFAULT_LANGUAGE and set(dict(v.notice)) != set(
            DEFAULT_NOTICE
        ):
            problems.append(
                f"{source}: $.notice: a text in {v.language!r} needs its own notice templates "
                f"(warning, closure and examples); the built-in ones are English"
            )
    return problems


def _describe(v: PolicyVersion) -> str:
    return "; ".join(f"{sid}: {', '.join(cids)}" for sid, cids in _outline(v))


def check_unchanged(published: PolicyVersion, candidate: PolicyVersion, source: str) -> None:
    """Refuse ``candidate`` if it differs from the text already published (invariant 3).

    The text is compared by digest; the notice templates, reviewed with it, must not
    change either.
    """
    what = f"policy {candidate.policy_id} version {candidate.version}"
    if candidate.language != candidate.governing_language:
        what += f" in {candidate.language!r}"
    if published.sha256 == candidate.sha256 and published.notice != candidate.notice:
        raise PolicyConflict(
            f"{source}: the notice templates of {what} differ from those published with it. "
            f"A published version never changes: restore them, or publish the change as "
            f"version {candidate.version + 1}."
        )
    if published.sha256 != candidate.sha256:
        raise PolicyConflict(
            f"{source}: {what} was already published with sha256 {published.sha256}, but this "
            f"file's text has sha256 {candidate.sha256}. A published version never changes: "
            f"restore the file, or publish the change as version {candidate.version + 1}."
        )


def merge_published(published: PolicyVersion, candidate: PolicyVersion) -> PolicyVersion | None:
    """The published version with the languages ``candidate`` adds, or ``None`` if it adds none.

    Every language published before must be unchanged (:func:`check_unchanged`), the
    governing one included; a language that is published stays published even if the
    candidate no longer has it.
    """
    source = f"{candidate.policy_id} v{candidate.version}"
    check_unchanged(published, candidate, source)
    known = {t.language: t for t in published.translations}
    added = []
    for translation in candidate.translations:
        if translation.language in known:
            check_unchanged(known[translation.language], translation, source)
        else:
            added.append(translation)
    if not added:
        return None
    return published.with_translations([*published.translations, *added])


def in_force(versions: Iterable[PolicyVersion], now: datetime) -> PolicyVersion | None:
    """The version in force at ``now``: latest effective date not after ``now``, then highest."""
    current = [v for v in versions if v.effective <= now]
    return max(current, key=lambda v: (v.effective, v.version), default=None)
