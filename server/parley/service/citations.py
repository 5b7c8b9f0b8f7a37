"""The texts a warning or closure quotes: the one the visitor accepted, and the one governing it."""

from __future__ import annotations

from typing import Any

from parley.domain import language as tags
from parley.domain.moderation import clause_record
from parley.domain.policy import PolicyRef, PolicyVersion
from parley.service.core import Core


async def texts_for(core: Core, ref: PolicyRef) -> tuple[PolicyVersion, PolicyVersion]:
    """The text ``ref`` pins (in the language the visitor accepted) and its version's governing
    text; the same object twice when the visitor accepted the governing text."""
    governing = await core.governing(ref)
    return governing.for_language(ref.language), governing


def citing_view(accepted: PolicyVersion, governing: PolicyVersion) -> dict[str, Any]:
    """What a console adds to the accepted version's view to cite it: the accepted text's
    language and writing direction and, if it is a translation, the governing text's
    language, direction, digest and clauses (same ids), shown beside the visitor's."""
    view: dict[str, Any] = {
        "language": accepted.language,
        "direction": tags.direction(accepted.language),
    }
    if accepted.sha256 != governing.sha256:
        view["governing"] = {
            "language": governing.language,
            "direction": tags.direction(governing.language),
            "sha256": governing.sha256,
            "clauses": [clause_record(c) for c in governing.clauses.values()],
        }
    return view
