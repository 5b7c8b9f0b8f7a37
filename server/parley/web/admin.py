"""Admin endpoints: staff tokens, bars and erasure. Only the ``admin`` role; every change is
audited."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from parley.domain.agent import StaffRole
from parley.errors import (
    BanNotFound,
    InvalidErasureBasis,
    StaffNameTooLong,
    StaffNotFound,
    VisitorNotFound,
)
from parley.schemas import validator
from parley.service import erasure_request
from parley.web import shapes
from parley.web.operations import JSON, Args, core_of, operation
from parley.web.params import FLAG, Segment

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

ID = {"id": Segment()}


@operation(roles=ADMIN, answers={JSON: shapes.items(shapes.STAFF)})
async def staff_members(request: Request, args: Args) -> dict[str, Any]:
    """Every staff member, revoked ones too (never their token)."""
    return {"items": [s.to_dict() for s in await core_of(request).store.staff()]}


@operation(
    "POST",
    roles=ADMIN,
    body=NEW_STAFF,
    answers={JSON: shapes.NEW_STAFF},
    errors=(StaffNameTooLong,),
)
async def add_staff_member(request: Request, args: Args) -> dict[str, Any]:
    """Add a staff member; the answer holds its token, shown this once."""
    staff, token = await core_of(request).add_staff(
        args.body["name"], StaffRole(args.body["role"]), args.staff.actor
    )
    return {"staff": staff.to_dict(), "token": token}


@operation(
    "POST", roles=ADMIN, path=ID, answers={JSON: shapes.record({"staff": shapes.STAFF})},
    errors=(StaffNotFound,),
)  # fmt: skip
async def revoke_staff(request: Request, args: Args) -> dict[str, Any]:
    """Revoke a staff member's token at once (revoking twice keeps the first time)."""
    staff = await core_of(request).revoke_staff(args.path("id"), args.staff.actor)
    if staff is None:
        raise StaffNotFound(f"no staff member {args.path('id')}")
    return {"staff": staff.to_dict()}


@operation(
    "POST",
    roles=ADMIN,
    path={"visitor_id": Segment()},
    body=ERASE,
    answers={JSON: shapes.CERTIFICATE},
    errors=(InvalidErasureBasis, VisitorNotFound),
)
async def erase_visitor(request: Request, args: Args) -> dict[str, Any]:
    """Erase a visitor's personal data everywhere a hold allows; answer the signed certificate."""
    return await erasure_request.erase_visitor(
        core_of(request), args.path("visitor_id"), args.body["basis"], args.staff.actor
    )


@operation(roles=ADMIN, query={"all": FLAG}, answers={JSON: shapes.items(shapes.BAN)})
async def list_bans(request: Request, args: Args) -> dict[str, Any]:
    """Bars in force; ``all=true`` lists lifted and expired ones too."""
    everything = args.flag("all")
    core = core_of(request)
    now = core.clock()
    found = [b for b in await core.store.bans() if everything or b.active(now)]
    return {"items": [b.to_dict() for b in found]}


@operation(
    "POST",
    roles=ADMIN,
    path=ID,
    body=LIFT,
    answers={JSON: shapes.record({"ban": shapes.BAN})},
    errors=(BanNotFound,),
)
async def lift_ban(request: Request, args: Args) -> dict[str, Any]:
    """Lift a bar, with the reason for the audit trail."""
    ban = await core_of(request).lift_ban(args.path("id"), args.body["reason"], args.staff.actor)
    if ban is None:
        raise BanNotFound(f"no bar {args.path('id')}")
    return {"ban": ban.to_dict()}
