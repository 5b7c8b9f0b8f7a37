"""Agents' HTTP endpoints: the search of ended conversations.

Takes the token of any staff member who may use the console (agent or admin).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from parley.domain.agent import CHAT_ROLES
from parley.store.base import EndedFilter
from parley.web import shapes
from parley.web.operations import JSON, Args, core_of, operation
from parley.web.params import PAGE, Text, Time


@operation(
    roles=CHAT_ROLES,
    query={
        "visitor_id": Text(),
        "conversation_id": Text(),
        "since": Time(),
        "until": Time(),
        **PAGE,
    },
    answers={JSON: shapes.items(shapes.CONVERSATION, paged=True)},
)
async def ended(request: Request, args: Args) -> dict[str, Any]:
    """Ended conversations, the latest ended first, paged.

    By visitor id, conversation id and when they ended (``since`` inclusive, ``until``
    exclusive)."""
    where = EndedFilter(
        visitor_id=args.text("visitor_id"),
        conversation_id=args.text("conversation_id"),
        since=args.text("since"),
        until=args.text("until"),
    )
    paging = args.paging
    page = await core_of(request).store.ended_conversations(where, paging.after, paging.limit)
    return {
        "items": [c.to_dict() for c in page.items],
        "next_cursor": paging.next_cursor(page.next_cursor),
    }
