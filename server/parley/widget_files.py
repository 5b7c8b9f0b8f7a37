"""Read the widget the server serves (the I/O edge of ``domain.widget``)."""

from __future__ import annotations

from pathlib import Path

from parley.domain.widget import WidgetBuild, read_build

WIDGET_FILE = "widget.js"


def load_build(widget_dir: Path) -> WidgetBuild:
    """The build of ``widget_dir/widget.js``, read once; raise ValueError naming the file."""
    path = widget_dir / WIDGET_FILE
    try:
        return read_build(path.read_bytes())
    except OSError as e:
        raise ValueError(f"{path}: cannot read the widget: {e.strerror}") from None
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
