"""Plain-text tables for benchmark output."""

from __future__ import annotations

from collections.abc import Sequence


def layout(lines: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns, the first line a heading underlined with dashes."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
