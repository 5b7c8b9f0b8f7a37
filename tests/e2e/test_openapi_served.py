"""GET /openapi.json on a real server, and the server reading exactly what it describes.

Each operation is checked both ways against its description: a query parameter
the description does not list is refused (400 ``bad_request``), and each one it
lists is read — a value its reader refuses gets 400 naming that parameter —
so the description can neither miss a parameter nor list one the server ignores.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from harness import REPO, Server
from parley.config import Settings
from parley.web.app import create_app
from parley.web.openapi import described, document
from parley.web.operations import Operation

ROUTES = create_app(Settings(widget_dir=REPO / "widget")).app.routes
OPERATIONS = described(ROUTES)
IDS = [f"{op.method} {path}" for path, op in OPERATIONS]
#: A value each kind of parameter refuses, by what its schema says.
REFUSED = {"enum": "zzz", "integer": "x", "date-time": "yesterday", "text": "", "cursor": "zz"}


def refused_value(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return REFUSED["enum"]
    if schema.get("type") == "integer":
        return REFUSED["integer"]
    if schema.get("format") == "date-time":
        return REFUSED["date-time"]
    return REFUSED["text"] if "maxLength" in schema else REFUSED["cursor"]


def url(path: str, op: Operation, **query: str) -> str:
    """``path`` with each path parameter a value its reader takes, and ``query``."""
    filled = re.sub(r"{(\w+)}", lambda m: "1" if m[1] in ("size", "version") else "x", path)
    return str(httpx.URL(filled, params=query))


def test_the_description_is_served_without_a_token(server: Server) -> None:
    answer = httpx.get(f"{server.http}/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == document(ROUTES)
    refused = httpx.get(f"{server.http}/openapi.json?format=yaml")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize(("path", "op"), OPERATIONS, ids=IDS)
def test_a_parameter_the_description_does_not_list_is_refused(
    server: Server, admin_token: str, path: str, op: Operation
) -> None:
    """Pages and files ignore their query instead: a page may be linked with ``?v=2``."""
    as_admin = {"Authorization": f"Bearer {admin_token}"}
    target = server.http + url(path, op, undescribed="1")
    answer = httpx.request(op.method, target, headers=as_admin)
    if op.strict:
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["message"].startswith("unknown parameter 'undescribed'")
    else:
        assert answer.status_code in (200, 404), answer.text


PARAMETERS = [
    (path, op, p)
    for path, op in OPERATIONS
    for p in document(ROUTES)["paths"][path][op.method.lower()].get("parameters", [])
    if p["in"] == "query" or "minimum" in p["schema"]
]


@pytest.mark.parametrize(
    ("path", "op", "parameter"),
    PARAMETERS,
    ids=[f"{op.method} {path} {p['name']}" for path, op, p in PARAMETERS],
)
def test_every_parameter_the_description_lists_is_read(
    server: Server, admin_token: str, path: str, op: Operation, parameter: dict[str, Any]
) -> None:
    name, value = parameter["name"], refused_value(parameter["schema"])
    if parameter["in"] == "query":
        target = url(path, op, **{name: value})
    else:
        target = url(path, op).replace("/1", f"/{value}", 1)
    as_admin = {"Authorization": f"Bearer {admin_token}"}
    answer = httpx.request(op.method, server.http + target, headers=as_admin)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["message"].startswith(name), answer.text
