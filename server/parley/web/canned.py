"""Canned replies over HTTP: admins manage them; agents read them.

``GET/POST /api/admin/canned`` and ``PUT/DELETE /api/admin/canned/{id}`` take
the ``admin`` role; ``GET /api/canned`` any chat role (agents and admins).
Bodies are ``{"shortcut", "text"}``, checked against :data:`REPLY` before
anything is stored; every change is audited (docs/deployment.md, "Canned replies").
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from parley.domain.agent import CHAT_ROLES
from parley.domain.canned import MAX_TEXT, SHORTCUT_PATTERN
from parley.schemas import validator
from parley.service import canned
from parley.web.admin import ADMIN, json_body
from parley.web.api import core_of, json_endpoint, staff_of
from parley.web.params import Params

REPLY = validator(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["shortcut", "text"],
        "properties": {
            "shortcut": {"type": "string", "pattern": SHORTCUT_PATTERN},
            "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": "\\S"},
        },
    }
)


@json_endpoint
async def canned_replies(request: Request) -> dict[str, Any]:
    """GET lists every canned reply; POST adds one."""
    admin = await staff_of(request, ADMIN)
    Params(request)
    core = core_of(request)
    if request.method != "POST":
        return {"items": await canned.replies(core)}
    body = await json_body(request, REPLY)
    reply = await canned.add(core, body["shortcut"], body["text"], admin.actor)
    return {"reply": reply.to_dict()}


@json_endpoint
async def canned_reply(request: Request) -> dict[str, Any]:
    """PUT replaces one reply's shortcut and text; DELETE removes it."""
    admin = await staff_of(request, ADMIN)
    Params(request)
    core, reply_id = core_of(request), request.path_params["id"]
    if request.method == "DELETE":
        return {"reply": (await canned.delete(core, reply_id, admin.actor)).to_dict()}
    body = await json_body(request, REPLY)
    reply = await canned.change(core, reply_id, body["shortcut"], body["text"], admin.actor)
    return {"reply": reply.to_dict()}


@json_endpoint
async def agent_canned_replies(request: Request) -> dict[str, Any]:
    """The canned replies, for an agent's console."""
    await staff_of(request, CHAT_ROLES)
    Params(request)
    return {"items": await canned.replies(core_of(request))}
