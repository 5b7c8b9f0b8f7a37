"""JSON Schema validation with ECMA-262 anchors and integers written as integers.

``jsonschema`` checks ``pattern`` with Python's ``re.search``, where a final
``$`` also matches before a trailing newline; JSON Schema means end of input.
:func:`validator` closes that gap so ``"m1\\n"`` never passes ``^[a-z0-9]+$``.

JSON Schema also counts ``2.0`` as an integer. A float reaching a store where an
int is meant is refused there (Redis ranges) or echoed back as ``2.0``, so here an
``integer`` is a number written without a fraction or an exponent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, TypeChecker, ValidationError, validators
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


def _is_integer(checker: TypeChecker, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


# The stubs leave validators.extend untyped.
StrictValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {"pattern": _pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def validator(schema: Mapping[str, Any], registry: Registry | None = None) -> Any:
    """A draft 2020-12 validator for ``schema`` whose patterns anchor at the true end."""
    if registry is None:
        return StrictValidator(schema)
    return StrictValidator(schema, registry=registry)
