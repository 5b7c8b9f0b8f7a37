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
from parley.errors import CannedReplyNotFound, ShortcutTaken
from parley.schemas import validator
from parley.service import canned
from parley.web import shapes
from parley.web.admin import ADMIN
from parley.web.operations import JSON, Args, core_of, operation
from parley.web.params import Segment

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

REPLIES = {JSON: shapes.items(shapes.REPLY)}
ONE_REPLY = {JSON: shapes.record({"reply": shapes.REPLY})}
ID = {"id": Segment()}


@operation(roles=ADMIN, answers=REPLIES)
async def canned_replies(request: Request, args: Args) -> dict[str, Any]:
    """Every canned reply, by shortcut."""
    return {"items": await canned.replies(core_of(request))}


@operation("POST", roles=ADMIN, body=REPLY, answers=ONE_REPLY, errors=(ShortcutTaken,))
async def add_canned_reply(request: Request, args: Args) -> dict[str, Any]:
    """Add a canned reply; every agent console gets it at once."""
    body = args.body
    reply = await canned.add(core_of(request), body["shortcut"], body["text"], args.staff.actor)
    return {"reply": reply.to_dict()}


@operation(
    "PUT",
    roles=ADMIN,
    path=ID,
    body=REPLY,
    answers=ONE_REPLY,
    errors=(CannedReplyNotFound, ShortcutTaken),
)
async def change_canned_reply(request: Request, args: Args) -> dict[str, Any]:
    """Replace one canned reply's shortcut and text."""
    body, actor = args.body, args.staff.actor
    reply = await canned.change(
        core_of(request), args.path("id"), body["shortcut"], body["text"], actor
    )
    return {"reply": reply.to_dict()}


@operation("DELETE", roles=ADMIN, path=ID, answers=ONE_REPLY, errors=(CannedReplyNotFound,))
async def delete_canned_reply(request: Request, args: Args) -> dict[str, Any]:
    """Delete one canned reply; the answer is the reply as it was."""
    reply = await canned.delete(core_of(request), args.path("id"), args.staff.actor)
    return {"reply": reply.to_dict()}


@operation(roles=CHAT_ROLES, answers=REPLIES)
async def agent_canned_replies(request: Request, args: Args) -> dict[str, Any]:
    """The canned replies, for an agent's console."""
    return {"items": await canned.replies(core_of(request))}
