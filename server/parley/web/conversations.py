"""Agents' HTTP endpoints: the search of ended conversations.

Takes the token of any staff member who may use the console (agent or admin).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from parley.domain.agent import CHAT_ROLES
from parley.store.base import EndedFilter
from parley.web.api import core_of, cursors_of, json_endpoint, staff_of
from parley.web.params import Params


@json_endpoint
async def ended(request: Request) -> dict[str, Any]:
    """Ended conversations, the latest ended first, by visitor id, conversation id and
    when they ended (``since`` inclusive, ``until`` exclusive), paged by signed cursors."""
    await staff_of(request, CHAT_ROLES)
    q = Params(request, "visitor_id", "conversation_id", "since", "until", "limit", "cursor")
    where = EndedFilter(
        visitor_id=q.text("visitor_id"),
        conversation_id=q.text("conversation_id"),
        since=q.time("since"),
        until=q.time("until"),
    )
    paging = q.paging(cursors_of(request))
    page = await core_of(request).store.ended_conversations(where, paging.after, paging.limit)
    return {
        "items": [c.to_dict() for c in page.items],
        "next_cursor": paging.next_cursor(page.next_cursor),
    }
