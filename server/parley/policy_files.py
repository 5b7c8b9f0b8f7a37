"""Read and check the policy files of a folder (the I/O edge of ``domain.policy``)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from parley.domain import policy as rules
from parley.domain.policy import PolicyVersion
from parley.errors import PolicyInvalid
from parley.schemas import validator as strict_validator

SCHEMA_FILE = "policy.schema.json"


def load_folder(folder: Path) -> list[PolicyVersion]:
    """Parse and check every ``*.toml`` file of ``folder`` against ``policy.schema.json`` there.

    Returns each version in its governing language with its translations attached.

    Raises :class:`PolicyInvalid` listing every problem as ``FILE: FIELD: message``.
    """
    schema_path = folder / SCHEMA_FILE
    try:
        validator = strict_validator(json.loads(schema_path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as e:
        raise PolicyInvalid([f"{schema_path}: cannot read the policy schema: {e}"]) from None
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise PolicyInvalid([f"{folder}: no policy files (*.toml) found"])
    problems: list[str] = []
    versions: list[tuple[str, PolicyVersion]] = []
    for path in files:
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            problems.append(f"{path}: $: not a readable TOML file: {e}")
            continue
        errors = sorted(validator.iter_errors(doc), key=lambda err: list(err.absolute_path))
        if errors:
            problems.extend(f"{path}: {err.json_path}: {err.message}" for err in errors)
            continue
        try:
            versions.append((str(path), rules.from_document(doc, str(path))))
        except PolicyInvalid as e:
            problems.extend(e.problems)
    try:
        catalog = rules.check_catalog(versions)
    except PolicyInvalid as e:
        problems.extend(e.problems)
    if problems:
        raise PolicyInvalid(problems)
    return catalog
