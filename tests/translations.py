"""A small German translation of a real policy version, written as a policy file.

The real translations are reviewed texts of their own; these are only distinct words in
the same outline (same section and clause ids, same order), which is all the server
needs to tell languages apart.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from parley.domain.policy import PolicyVersion

VERSION_LINE = "Richtlinie {policy_id}, Version {version}, gültig ab {effective}"
NOTICE = {
    "examples": "Zum Beispiel:",
    "warning": (
        "Bitte beachten Sie Regel {clause_id}, „{clause_title}“:\n\n{clause_text}\n\n{examples}"
    ),
    "closure": (
        "Dieses Gespräch wurde nach Regel {clause_id} beendet, „{clause_title}“:\n\n"
        "{clause_text}\n\n{examples}Referenz: {conversation_id}"
    ),
}


def german(version: PolicyVersion) -> dict[str, Any]:
    """``version`` (its governing text) as a German policy document."""
    doc = version.to_document()
    doc.update(
        language="de",
        version_line=VERSION_LINE,
        notice=NOTICE,
        title=f"Verhaltensrichtlinie für den Chat ({version.version})",
        preamble="Bitte bleiben Sie freundlich, sachlich und beim Thema.",
    )
    for section in doc["sections"]:
        section["title"] = f"Abschnitt {section['id']}"
        for clause in section["clauses"]:
            clause["title"] = f"Regel {clause['id']}"
            clause["text"] = f"Der deutsche Wortlaut der Regel {clause['id']}."
    return doc


def toml(doc: dict[str, Any]) -> str:
    """``doc`` as a policy file (a JSON string is a TOML basic string)."""

    def value(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False)

    lines = [f"{k} = {value(v)}" for k, v in doc.items() if k not in ("notice", "sections")]
    lines += ["", "[notice]", *(f"{k} = {value(v)}" for k, v in doc.get("notice", {}).items())]
    for section in doc["sections"]:
        lines += ["", "[[sections]]", f"id = {value(section['id'])}"]
        lines += [f"title = {value(section['title'])}"]
        for clause in section["clauses"]:
            lines += ["", "[[sections.clauses]]"]
            lines += [f"{k} = {value(clause[k])}" for k in ("id", "title", "text")]
    return "\n".join(lines) + "\n"


def add_german(folder: Path, version: PolicyVersion) -> Path:
    """Write ``conduct-v<N>.de.toml`` beside the version's file in ``folder``."""
    path = folder / f"{version.policy_id}-v{version.version}.de.toml"
    path.write_text(toml(german(version)), encoding="utf-8")
    return path
