"""The ``holds`` section of an evidence bundle: optional to the verifier, shown in the record."""

from __future__ import annotations

from typing import Any

from parley.evidence.html import render
from parley.evidence.verify import verify

SCRIPT = "<script>alert(1)</script>"
HOLD = {
    "id": "h_test",
    "scope": "visitor",
    "target": "v_test",
    "reason": f"Litigation hold {SCRIPT}",
    "placed_at": "2026-12-02T18:40:12.031Z",
    "placed_by": {"id": "s_clara", "name": "Clara", "role": "compliance"},
    "lifted_at": None,
    "lifted_by": None,
    "lift_reason": None,
}


def test_bundles_with_holds_and_older_ones_without_the_section_verify(
    closed_bundle: dict[str, Any], public_key: bytes
) -> None:
    """Rule: ``holds`` is allowed, and a bundle exported before holds (none) still verifies."""
    assert closed_bundle["holds"] == [], "the real export has the section"
    assert verify({**closed_bundle, "holds": [HOLD]}, public_key).ok
    older = {k: v for k, v in closed_bundle.items() if k != "holds"}
    assert verify(older, public_key).ok
    unknown = verify({**closed_bundle, "retention": []}, public_key)
    assert not unknown.ok and "sections" in (unknown.failure or "")


def test_the_record_shows_the_holds_escaped_and_none_for_an_older_bundle(
    closed_bundle: dict[str, Any],
) -> None:
    document = render({**closed_bundle, "holds": [HOLD]})
    shown = document[document.index("<h2>8. Legal holds</h2>") :]
    assert "h_test" in shown and "visitor v_test" in shown and "Clara" in shown
    assert SCRIPT not in document and "Litigation hold &lt;script&gt;" in shown
    assert "No legal hold was in force." in render(closed_bundle)
    older = {k: v for k, v in closed_bundle.items() if k != "holds"}
    assert "Legal holds" not in render(older)
