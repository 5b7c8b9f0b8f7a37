"""Legal hold endpoints: place, list and lift. Compliance or admin tokens; all audited."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from parley.domain.agent import EVIDENCE_ROLES
from parley.domain.holds import MAX_REASON_CHARS, HoldScope
from parley.errors import (
    ConversationNotFound,
    HoldAlreadyLifted,
    HoldNotFound,
    InvalidHoldReason,
    VisitorNotFound,
)
from parley.schemas import validator
from parley.service import holds
from parley.web import shapes
from parley.web.operations import JSON, Args, core_of, operation
from parley.web.params import PAGE, Choice, Segment

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

ONE_HOLD = {JSON: shapes.record({"hold": shapes.HOLD})}


@operation(
    roles=EVIDENCE_ROLES,
    query={"active": Choice(("true", "false")), **PAGE},
    answers={JSON: shapes.items(shapes.HOLD, paged=True)},
)
async def holds_listing(request: Request, args: Args) -> dict[str, Any]:
    """Legal holds in the order placed, paged.

    ``active=true`` (the default): those in force; ``active=false``: every hold, lifted ones too."""
    active_only = args.choice("active") == "true"
    paging = args.paging
    page = await holds.listing(core_of(request), active_only, paging.after, paging.limit)
    return {
        "items": [h.to_dict() for h in page.items],
        "next_cursor": paging.next_cursor(page.next_cursor),
    }


@operation(
    "POST",
    roles=EVIDENCE_ROLES,
    body=NEW_HOLD,
    answers=ONE_HOLD,
    errors=(ConversationNotFound, VisitorNotFound, InvalidHoldReason),
)
async def place_hold(request: Request, args: Args) -> dict[str, Any]:
    """Place a legal hold on a conversation or on every conversation of a visitor."""
    body = args.body
    hold = await holds.place(
        core_of(request), HoldScope(body["scope"]), body["target_id"], body["reason"],
        args.staff.actor,
    )  # fmt: skip
    return {"hold": hold.to_dict()}


@operation(
    "POST",
    roles=EVIDENCE_ROLES,
    path={"id": Segment()},
    body=LIFT_HOLD,
    answers=ONE_HOLD,
    errors=(HoldNotFound, HoldAlreadyLifted, InvalidHoldReason),
)
async def lift_hold(request: Request, args: Args) -> dict[str, Any]:
    """Lift a legal hold; its record is kept with who lifted it, when and why."""
    hold = await holds.lift(
        core_of(request), args.path("id"), args.body["reason"], args.staff.actor
    )
    return {"hold": hold.to_dict()}
