"""JSON Schema validation with ECMA-262 anchors.

``jsonschema`` checks ``pattern`` with Python's ``re.search``, where a final
``$`` also matches before a trailing newline; JSON Schema means end of input.
:func:`validator` closes that gap so ``"m1\\n"`` never passes ``^[a-z0-9]+$``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from referencing import Registry


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _pattern(
    validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _compile(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# The stubs leave validators.extend untyped.
StrictValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})  # type: ignore[no-untyped-call]


def validator(schema: Mapping[str, Any], registry: Registry | None = None) -> Any:
    """A draft 2020-12 validator for ``schema`` whose patterns anchor at the true end."""
    if registry is None:
        return StrictValidator(schema)
    return StrictValidator(schema, registry=registry)
