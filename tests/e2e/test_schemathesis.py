"""Schemathesis against a real server: every operation of /openapi.json answers as described.

The description is the one the server serves. For each operation Schemathesis
generates requests that fit it (positive) and requests that break it
(negative), sent with an admin token (every staff role set takes it), to a
server seeded with closed conversations, so listings, records and exports have
something to answer. Each response must pass:

* ``not_a_server_error``: no 5xx;
* ``status_code_conformance``: a status the operation documents;
* ``content_type_conformance``: a media type it documents for that status;
* ``response_schema_conformance``: a JSON body valid against the documented schema;
* ``response_headers_conformance``: the documented headers, of their schema;
* ``negative_data_rejection``: a request that breaks the description is refused (4xx);
* ``ignored_auth``: an operation that takes a token refuses the request without one,
  and with a bogus one (Schemathesis sends both again);
* ``missing_required_header``: a request without a header it must have is refused.

``make test`` runs a fixed few examples per operation and mode (derandomized,
conftest.py's ``ci`` profile); ``make fuzz`` many more (docs/api.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from fuzzing import fuzz_settings
from harness import REPO, SENT, Server, closed_conversation
from parley.config import Settings
from parley.web.app import create_app
from parley.web.openapi import document

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    ignored_auth,
    missing_required_header,
]
DESCRIPTION = document(create_app(Settings(widget_dir=REPO / "widget")).app.routes)
#: Every operation the description has, known before any server starts (for the test ids),
#: with the modes it can be generated in: only a query, a body or a whole number in the
#: path can be broken (any text is a path segment; a request without one is another path).
CASES = [
    pytest.param(method.upper(), path, mode, id=f"{method.upper()} {path} {mode.value}")
    for path, item in DESCRIPTION["paths"].items()
    for method, op in item.items()
    for mode in GenerationMode
    if mode is GenerationMode.POSITIVE
    or "requestBody" in op
    or any(p["in"] == "query" or "minimum" in p["schema"] for p in op.get("parameters", []))
]


@dataclass(frozen=True)
class Described:
    """The description as the running server serves it, and how to reach the server."""

    schema: Any
    base_url: str
    token: str


@pytest.fixture(scope="module")
def described(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Described]:
    """A server of its own, with two conversations closed citing a clause, one held."""
    server = Server(tmp_path_factory.mktemp("schemathesis")).start()
    try:
        admin = server.add_staff("Schema Admin", "admin")
        http = httpx.Client(base_url=server.http, headers={"Authorization": f"Bearer {admin}"})
        with http:
            added = http.post("/api/admin/staff", json={"name": "Schema Agent", "role": "agent"})
            agent = added.json()["token"]
            closed = [asyncio.run(closed_conversation(server, agent, "1.1")) for _ in range(2)]
            hold = {"scope": "conversation", "target_id": closed[0], "reason": "a dispute"}
            placed = http.post("/api/compliance/holds", json=hold)
            assert placed.status_code == 200, placed.text
        schema = schemathesis.openapi.from_url(f"{server.http}/openapi.json")
        yield Described(schema, server.http, admin)
    finally:
        server.stop()


@pytest.mark.fuzz
@pytest.mark.parametrize(("method", "path", "mode"), CASES)
@fuzz_settings(examples=8)
@given(data=st.data())
def test_every_operation_answers_as_its_description_says(
    described: Described, method: str, path: str, mode: GenerationMode, data: st.DataObject
) -> None:
    operation = described.schema[path][method]
    case = data.draw(operation.as_strategy(generation_mode=mode), label="case")
    # A case whose headers break the description (no token, a bogus one) is sent as it is,
    # to be refused; any other with a real token, so that it reaches what it tests.
    broken = case.meta.components.get(ParameterLocation.HEADER)
    if "security" in operation.definition.raw and (broken is None or broken.mode.is_positive):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {described.token}"}
    SENT["HTTP requests (Schemathesis)"] += 1
    # The first PDF export imports WeasyPrint: seconds on a loaded machine.
    response = case.call(base_url=described.base_url, timeout=60)
    case.validate_response(response, checks=CHECKS)
