"""Legal hold endpoints: place, list and lift. Compliance or admin tokens; all audited."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from parley.domain.agent import EVIDENCE_ROLES
from parley.domain.holds import MAX_REASON_CHARS, HoldScope
from parley.schemas import validator
from parley.service import holds
from parley.web.admin import json_body
from parley.web.api import core_of, cursors_of, json_endpoint, staff_of
from parley.web.params import Params

REASON = {"type": "string", "minLength": 1, "maxLength": MAX_REASON_CHARS}

NEW_HOLD = validator(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["scope", "target_id", "reason"],
        "properties": {
            "scope": {"enum": [s.value for s in HoldScope]},
            "target_id": {"type": "string", "minLength": 1, "maxLength": 200},
            "reason": REASON,
        },
    }
)

LIFT_HOLD = validator(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["reason"],
        "properties": {"reason": REASON},
    }
)


@json_endpoint
async def holds_listing(request: Request) -> dict[str, Any]:
    """GET lists holds in the order placed (``active=false``: lifted ones too), paged;
    POST places one: ``{"scope", "target_id", "reason"}``."""
    staff = await staff_of(request, EVIDENCE_ROLES)
    if request.method == "POST":
        Params(request)
        body = await json_body(request, NEW_HOLD)
        hold = await holds.place(
            core_of(request), HoldScope(body["scope"]), body["target_id"], body["reason"],
            staff.actor,
        )  # fmt: skip
        return {"hold": hold.to_dict()}
    q = Params(request, "active", "limit", "cursor")
    active_only = q.choice("active", ("true", "false")) == "true"
    paging = q.paging(cursors_of(request))
    page = await holds.listing(core_of(request), active_only, paging.after, paging.limit)
    return {
        "items": [h.to_dict() for h in page.items],
        "next_cursor": paging.next_cursor(page.next_cursor),
    }


@json_endpoint
async def lift_hold(request: Request) -> dict[str, Any]:
    staff = await staff_of(request, EVIDENCE_ROLES)
    Params(request)
    body = await json_body(request, LIFT_HOLD)
    hold_id = request.path_params["id"]
    hold = await holds.lift(core_of(request), hold_id, body["reason"], staff.actor)
    return {"hold": hold.to_dict()}
