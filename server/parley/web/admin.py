"""Admin endpoints: staff tokens. Only the ``admin`` role; every change is audited."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from parley.domain.agent import StaffRole
from parley.errors import BadJson, BadRequest, StaffNotFound
from parley.schemas import validator
from parley.web.api import core_of, json_endpoint, staff_of

ADMIN = frozenset({StaffRole.ADMIN})

NEW_STAFF = validator(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "role"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 120, "pattern": "^[^\\n]+$"},
            "role": {"enum": [r.value for r in StaffRole]},
        },
    }
)


@json_endpoint
async def list_staff(request: Request) -> dict[str, Any]:
    await staff_of(request, ADMIN)
    return {"items": [s.to_dict() for s in await core_of(request).store.staff()]}


@json_endpoint
async def add_staff(request: Request) -> dict[str, Any]:
    admin = await staff_of(request, ADMIN)
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise BadJson("the request body is not JSON") from None
    errors = sorted(NEW_STAFF.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        raise BadRequest(f"{errors[0].json_path}: {errors[0].message}")
    staff, token = await core_of(request).add_staff(
        body["name"], StaffRole(body["role"]), admin.actor
    )
    return {"staff": staff.to_dict(), "token": token}


@json_endpoint
async def revoke_staff(request: Request) -> dict[str, Any]:
    admin = await staff_of(request, ADMIN)
    staff = await core_of(request).revoke_staff(request.path_params["id"], admin.actor)
    if staff is None:
        raise StaffNotFound(f"no staff member {request.path_params['id']}")
    return {"staff": staff.to_dict()}
