"""Webhook endpoints over HTTP, for admins (docs/webhooks.md).

``GET/POST /api/admin/webhooks``, ``DELETE /api/admin/webhooks/{id}`` and
``GET /api/admin/webhooks/{id}/deliveries``; only the ``admin`` role. A new
endpoint's secret is answered once, by the POST that made it; listings never
show it. Bodies are checked against :data:`NEW_ENDPOINT` and the URL and event
types by :mod:`parley.domain.webhooks` before anything is stored.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from parley.domain.webhooks import ALL, MAX_URL, EventType
from parley.schemas import validator
from parley.service import webhooks
from parley.web.admin import ADMIN, json_body
from parley.web.api import core_of, cursors_of, json_endpoint, staff_of
from parley.web.params import Params

NEW_ENDPOINT = validator(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["url", "events"],
        "properties": {
            "url": {"type": "string", "minLength": 1, "maxLength": MAX_URL},
            "events": {
                "type": "array",
                "minItems": 1,
                "maxItems": 20,
                "uniqueItems": True,
                "items": {"enum": [ALL, *(t.value for t in EventType)]},
            },
            "description": {"type": "string", "maxLength": 500},
        },
    }
)


@json_endpoint
async def endpoints(request: Request) -> dict[str, Any]:
    """GET lists the endpoints (never their secrets); POST adds one and answers its secret."""
    admin = await staff_of(request, ADMIN)
    Params(request)
    core = core_of(request)
    if request.method != "POST":
        return {"items": [e.view() for e in await core.store.webhooks()]}
    body = await json_body(request, NEW_ENDPOINT)
    endpoint = await webhooks.add_endpoint(
        core, body["url"], body["events"], body.get("description"), admin.actor
    )
    return {"webhook": endpoint.view(), "secret": endpoint.secret}


@json_endpoint
async def endpoint(request: Request) -> dict[str, Any]:
    """DELETE stops deliveries to the endpoint; its delivery log stays readable."""
    admin = await staff_of(request, ADMIN)
    Params(request)
    deleted = await webhooks.delete_endpoint(
        core_of(request), request.path_params["id"], admin.actor
    )
    return {"webhook": deleted.view()}


@json_endpoint
async def deliveries(request: Request) -> dict[str, Any]:
    """The endpoint's delivery log, newest first, paged (``limit``, ``cursor``)."""
    await staff_of(request, ADMIN)
    paging = Params(request, "limit", "cursor").paging(cursors_of(request))
    page = await webhooks.delivery_log(
        core_of(request), request.path_params["id"], paging.after, paging.limit
    )
    return {
        "items": [d.view() for d in page.items],
        "next_cursor": paging.next_cursor(page.next_cursor),
    }
