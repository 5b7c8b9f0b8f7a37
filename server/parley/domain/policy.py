"""Conduct policy versions: their canonical text, its digest, and which one is in force.

This module is the one place that defines the exact string a visitor is shown
(:attr:`PolicyVersion.text`) and its SHA-256 (:attr:`PolicyVersion.sha256`).
It is pure: documents come in already parsed, times are passed in.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from string import Formatter
from typing import Any

from parley.errors import PolicyConflict, PolicyInvalid, UnknownClause

EFFECTIVE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


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
}


def render_notice(template: str, clause: Clause, examples: list[str], conversation_id: str) -> str:
    """Fill a notice template; ``examples`` become a quoted list, or nothing."""
    listed = "".join(f"- {e}\n" for e in examples)
    return template.format_map(
        {
            "clause_id": clause.id,
            "clause_title": clause.title,
            "clause_text": clause.text,
            "examples": f"For example:\n{listed}\n" if examples else "",
            "conversation_id": conversation_id,
        }
    ).strip()


@dataclass(frozen=True)
class PolicyRef:
    """Names one version of a policy and pins its exact text by digest."""

    policy_id: str
    version: int
    sha256: str


@dataclass(frozen=True)
class PolicyVersion:
    """One immutable version of a conduct policy."""

    policy_id: str
    version: int
    title: str
    effective: datetime
    preamble: str
    sections: tuple[Section, ...]
    #: Templates of what the visitor is told on a warning or a closure (not part of the text).
    notice: tuple[tuple[str, str], ...] = ()

    def notice_template(self, kind: str) -> str:
        return dict(self.notice).get(kind, DEFAULT_NOTICE[kind])

    @cached_property
    def text(self) -> str:
        """The canonical text: exactly what a visitor is shown and accepts."""
        blocks = [
            f"{self.title}\nPolicy {self.policy_id}, version {self.version}, "
            f"effective {self.effective.strftime(EFFECTIVE_FORMAT)}",
            self.preamble,
        ]
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
        return PolicyRef(self.policy_id, self.version, self.sha256)

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
        """The policy in the policy file format (the inverse of :func:`from_document`)."""
        notice = {"notice": dict(self.notice)} if self.notice else {}
        return notice | {
            "policy_id": self.policy_id,
            "version": self.version,
            "title": self.title,
            "effective": self.effective.strftime(EFFECTIVE_FORMAT),
            "preamble": self.preamble,
            "sections": [
                {
                    "id": s.id,
                    "title": s.title,
                    "clauses": [{"id": c.id, "title": c.title, "text": c.text} for c in s.clauses],
                }
                for s in self.sections
            ],
        }


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
        try:
            names = {name for _, name, _, _ in Formatter().parse(template) if name is not None}
        except ValueError as e:
            problems.append(f"{source}: $.notice.{kind}: {e}")
            continue
        if unknown := names - NOTICE_FIELDS:
            allowed = ", ".join(sorted(NOTICE_FIELDS))
            problems.append(
                f"{source}: $.notice.{kind}: unknown placeholder {sorted(unknown)}; use {allowed}"
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
    )


def check_catalog(versions: Sequence[tuple[str, PolicyVersion]]) -> None:
    """Check that a set of files forms one policy with distinct version numbers.

    ``versions`` pairs each file name with its parsed version. Raises
    :class:`PolicyInvalid` listing every problem.
    """
    problems: list[str] = []
    ids = {v.policy_id for _, v in versions}
    if len(ids) > 1:
        problems.append(f"policies: all files must share one policy_id, found {sorted(ids)}")
    by_version: dict[int, str] = {}
    for source, v in versions:
        if v.version in by_version:
            problems.append(
                f"{source}: $.version: version {v.version} is also defined in "
                f"{by_version[v.version]}"
            )
        by_version[v.version] = source
    if problems:
        raise PolicyInvalid(problems)


def check_unchanged(published: PolicyVersion, candidate: PolicyVersion, source: str) -> None:
    """Refuse ``candidate`` if it differs from the version already published (invariant 3).

    The text is compared by digest; the notice templates, reviewed with it, must not
    change either.
    """
    if published.sha256 == candidate.sha256 and published.notice != candidate.notice:
        raise PolicyConflict(
            f"{source}: the notice templates of policy {candidate.policy_id} version "
            f"{candidate.version} differ from those published with it. A published version "
            f"never changes: restore them, or publish the change as version "
            f"{candidate.version + 1}."
        )
    if published.sha256 != candidate.sha256:
        raise PolicyConflict(
            f"{source}: policy {candidate.policy_id} version {candidate.version} was already "
            f"published with sha256 {published.sha256}, but this file's text has sha256 "
            f"{candidate.sha256}. A published version never changes: restore the file, "
            f"or publish the change as version {candidate.version + 1}."
        )


def in_force(versions: Iterable[PolicyVersion], now: datetime) -> PolicyVersion | None:
    """The version in force at ``now``: latest effective date not after ``now``, then highest."""
    current = [v for v in versions if v.effective <= now]
    return max(current, key=lambda v: (v.effective, v.version), default=None)
