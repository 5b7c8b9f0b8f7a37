"""The OpenAPI description: every HTTP route described, valid OpenAPI 3.1, docs/api.md current."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from schemathesis.specs.openapi.definitions import OPENAPI_31
from starlette.requests import Request
from starlette.routing import WebSocketRoute

from harness import REPO
from parley.config import Settings
from parley.web.app import create_app
from parley.web.openapi import document
from parley.web.openapi_markdown import render
from parley.web.operations import Args, Described, operation
from parley.web.params import Segment

ROUTES = create_app(Settings(widget_dir=REPO / "widget")).app.routes
DESCRIPTION = document(ROUTES)


def test_every_http_route_of_the_app_is_described() -> None:
    """A route added in the old style (a bare Route, a Mount) has no description: refused."""
    undescribed = [
        getattr(route, "path", repr(route))
        for route in ROUTES
        if not isinstance(route, (Described, WebSocketRoute))
    ]
    assert undescribed == []
    assert sum(len(item) for item in DESCRIPTION["paths"].values()) == sum(
        len(route.operations) for route in ROUTES if isinstance(route, Described)
    )


def test_every_operation_says_what_it_does() -> None:
    for path, item in DESCRIPTION["paths"].items():
        for method, op in item.items():
            assert op["summary"], f"{method} {path} has no docstring"


def test_the_description_is_valid_openapi_3_1() -> None:
    """Checked against the OpenAPI 3.1 meta-schema (the one Schemathesis bundles, offline)."""
    Draft202012Validator(OPENAPI_31).validate(DESCRIPTION)
    assert not Draft202012Validator(OPENAPI_31).is_valid({**DESCRIPTION, "openapi": "3.0.3"})


def schemas(value: Any) -> list[dict[str, Any]]:
    """Every JSON Schema in the document: each ``schema`` field and each component."""
    if isinstance(value, list):
        return [s for v in value for s in schemas(v)]
    if not isinstance(value, dict):
        return []
    found = [value["schema"]] if isinstance(value.get("schema"), dict) else []
    return found + [s for k, v in value.items() if k != "schema" for s in schemas(v)]


def test_every_schema_in_it_is_a_valid_json_schema_2020_12() -> None:
    found = schemas(DESCRIPTION) + list(DESCRIPTION["components"]["schemas"].values())
    assert len(found) > 100
    for schema in found:
        Draft202012Validator.check_schema(schema)


def test_docs_api_md_is_the_description_rendered() -> None:
    """docs/api.md cannot drift: regenerate it with `parley openapi --markdown > docs/api.md`."""
    committed = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    assert committed == render(DESCRIPTION), "docs/api.md is stale: regenerate it"


async def described_handler(request: Request, args: Args) -> None:
    """An operation for the declaration checks."""


def test_an_operation_must_declare_exactly_the_path_parameters_of_its_route() -> None:
    with pytest.raises(ValueError, match="declares path parameters"):
        Described("/things/{id:str}", operation()(described_handler))
    with pytest.raises(ValueError, match="declares path parameters"):
        Described("/things", operation(path={"id": Segment()})(described_handler))
    with pytest.raises(ValueError, match="share a method"):
        Described("/things", operation()(described_handler), operation()(described_handler))


def test_a_handler_cannot_read_a_parameter_its_declaration_does_not_name() -> None:
    with pytest.raises(KeyError):
        Args({"limit": 5}).text("visitor_id")
