"""Admin endpoints: staff tokens and bars. Only the ``admin`` role; every change is audited."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from parley.domain.agent import StaffRole
from parley.errors import BadRequest, BanNotFound, StaffNotFound
from parley.protocol.codec import parse
from parley.schemas import validator
from parley.service import erasure_request
from parley.web.api import core_of, json_endpoint, staff_of
from parley.web.params import Params

ADMIN = frozenset({StaffRole.ADMIN})

NEW_STAFF = validator(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "role"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "pattern": "^[^\\n]+$"},
            "role": {"enum": [r.value for r in StaffRole]},
        },
    }
)


async def json_body(request: Request, schema: Any) -> dict[str, Any]:
    """The request's JSON body, valid against ``schema``; BadJson or BadRequest otherwise.

    Parsed as strictly as WebSocket frames, with the same limits: UTF-8 only, no lone
    surrogates, no NaN, nesting and numbers bounded (:func:`parley.protocol.codec.parse`).
    """
    body = parse(await request.body())
    errors = sorted(schema.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        raise BadRequest(f"{errors[0].json_path}: {errors[0].message}")
    result: dict[str, Any] = body
    return result


@json_endpoint
async def staff_members(request: Request) -> dict[str, Any]:
    """GET lists every staff member; POST adds one and answers its token, shown this once."""
    admin = await staff_of(request, ADMIN)
    Params(request)
    if request.method != "POST":
        return {"items": [s.to_dict() for s in await core_of(request).store.staff()]}
    body = await json_body(request, NEW_STAFF)
    staff, token = await core_of(request).add_staff(
        body["name"], StaffRole(body["role"]), admin.actor
    )
    return {"staff": staff.to_dict(), "token": token}


@json_endpoint
async def revoke_staff(request: Request) -> dict[str, Any]:
    admin = await staff_of(request, ADMIN)
    Params(request)
    staff = await core_of(request).revoke_staff(request.path_params["id"], admin.actor)
    if staff is None:
        raise StaffNotFound(f"no staff member {request.path_params['id']}")
    return {"staff": staff.to_dict()}


LIFT = validator(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 500}},
    }
)


ERASE = validator(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["basis"],
        "properties": {"basis": {"type": "string", "maxLength": 2000}},
    }
)


@json_endpoint
async def erase_visitor(request: Request) -> dict[str, Any]:
    """Erase a visitor's personal data everywhere a hold allows; answer the signed certificate."""
    admin = await staff_of(request, ADMIN)
    Params(request)
    body = await json_body(request, ERASE)
    visitor_id = request.path_params["visitor_id"]
    return await erasure_request.erase_visitor(
        core_of(request), visitor_id, body["basis"], admin.actor
    )


@json_endpoint
async def list_bans(request: Request) -> dict[str, Any]:
    """Bars in force; ``?all=true`` lists lifted and expired ones too."""
    await staff_of(request, ADMIN)
    everything = Params(request, "all").flag("all")
    core = core_of(request)
    now = core.clock()
    found = [b for b in await core.store.bans() if everything or b.active(now)]
    return {"items": [b.to_dict() for b in found]}


@json_endpoint
async def lift_ban(request: Request) -> dict[str, Any]:
    admin = await staff_of(request, ADMIN)
    Params(request)
    body = await json_body(request, LIFT)
    ban = await core_of(request).lift_ban(request.path_params["id"], body["reason"], admin.actor)
    if ban is None:
        raise BanNotFound(f"no bar {request.path_params['id']}")
    return {"ban": ban.to_dict()}
