"""Staff names are at most 64 characters: the CLI and the admin API refuse longer ones,
with the typed error `staff_name_too_long`, and store and audit nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from harness import Server
from parley.domain.agent import MAX_NAME_CHARS

LONGEST = "Ł" * MAX_NAME_CHARS  # characters, not bytes: 128 bytes of UTF-8
TOO_LONG = "a" * (MAX_NAME_CHARS + 1)


def staff_and_audit(server: Server, admin: str) -> tuple[list[Any], list[Any]]:
    headers = {"Authorization": f"Bearer {admin}"}
    staff = httpx.get(f"{server.http}/api/admin/staff", headers=headers).json()["items"]
    audit = httpx.get(f"{server.http}/api/compliance/audit?limit=500", headers=headers)
    return staff, audit.json()["items"]


def test_the_cli_refuses_a_staff_name_over_64_characters_and_adds_no_one(
    make_server: Callable[..., Server],
) -> None:
    server = make_server().start()
    admin = server.add_staff("Dan Admin", "admin")
    before = staff_and_audit(server, admin)
    refused = server.cli("agents", "add", TOO_LONG, "--role", "agent")
    assert refused.returncode == 1
    assert refused.stderr == (
        "parley: staff_name_too_long: a staff name has at most 64 characters; this one has 65\n"
    )
    assert refused.stdout == ""
    assert staff_and_audit(server, admin) == before
    server.add_staff(LONGEST, "agent")
    assert LONGEST in [s["name"] for s in staff_and_audit(server, admin)[0]]


def test_the_admin_api_refuses_a_staff_name_over_64_characters_and_adds_no_one(
    make_server: Callable[..., Server],
) -> None:
    server = make_server().start()
    admin = server.add_staff("Dan Admin", "admin")
    before = staff_and_audit(server, admin)
    headers = {"Authorization": f"Bearer {admin}"}
    for name in (TOO_LONG, "b" * 300):
        refused = httpx.post(
            f"{server.http}/api/admin/staff", json={"name": name, "role": "agent"}, headers=headers
        )
        assert refused.status_code == 422
        assert refused.json() == {
            "error": {
                "code": "staff_name_too_long",
                "message": f"a staff name has at most 64 characters; this one has {len(name)}",
            }
        }
    assert staff_and_audit(server, admin) == before
    added = httpx.post(
        f"{server.http}/api/admin/staff", json={"name": LONGEST, "role": "agent"}, headers=headers
    )
    assert added.status_code == 200 and added.json()["staff"]["name"] == LONGEST
