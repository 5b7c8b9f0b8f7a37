"""A German translation of a published version, built from the domain, for tests of issue 16."""

from __future__ import annotations

from dataclasses import replace

from parley.domain.policy import PolicyVersion

GERMAN_NOTICE = (
    ("closure", 'Dieses Gespräch wurde nach Regel {clause_id}, „{clause_title}“, beendet:\n\n'
                "{clause_text}\n\n{examples}Referenz: {conversation_id}"),
    ("examples", "Zum Beispiel:"),
    ("warning", 'Bitte beachten Sie Regel {clause_id}, „{clause_title}“:\n\n{clause_text}\n\n'
                "{examples}"),
)  # fmt: skip


def in_german(v: PolicyVersion) -> PolicyVersion:
    """``v`` translated: every title and text in German, the same section and clause ids."""
    sections = tuple(
        replace(
            s,
            title=f"Abschnitt {s.id}",
            clauses=tuple(
                replace(c, title=f"Regel {c.id}", text=f"Der deutsche Wortlaut von {c.id}.")
                for c in s.clauses
            ),
        )
        for s in v.sections
    )
    return replace(
        v,
        language="de",
        title="Verhaltensrichtlinie",
        version_line="Richtlinie {policy_id}, Version {version}, gültig ab {effective}",
        preamble="Seien Sie freundlich.",
        sections=sections,
        notice=GERMAN_NOTICE,
    )


def with_german(v: PolicyVersion) -> PolicyVersion:
    """``v`` (governing) with its German translation attached."""
    return v.with_translations([in_german(v)])
