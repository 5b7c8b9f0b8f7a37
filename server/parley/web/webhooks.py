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
from parley.errors import InvalidWebhook, WebhookNotFound
from parley.schemas import validator
from parley.service import webhooks
from parley.web import shapes
from parley.web.admin import ADMIN
from parley.web.operations import JSON, Args, core_of, operation
from parley.web.params import PAGE, Segment

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

WEBHOOK = shapes.record(
    {
        "id": shapes.STRING,
        "url": shapes.STRING,
        "events": {"type": "array", "items": shapes.STRING},
        "created_at": shapes.STRING,
        "created_by": shapes.STRING,
        "description": shapes.NULLABLE_STRING,
        "deleted_at": shapes.NULLABLE_STRING,
    }
)
DELIVERY = shapes.record(
    {
        "id": shapes.STRING,
        "event_id": shapes.STRING,
        "type": shapes.STRING,
        "created_at": shapes.STRING,
        "state": {"enum": ["pending", "delivered", "failed"]},
        "attempts": {"type": "array", "items": shapes.OBJECT},
        "next_attempt_at": shapes.NULLABLE_STRING,
    }
)
ID = {"id": Segment()}


@operation(roles=ADMIN, answers={JSON: shapes.items(WEBHOOK)})
async def webhooks_listing(request: Request, args: Args) -> dict[str, Any]:
    """Every registered webhook endpoint, deleted ones too; never their secrets."""
    return {"items": [e.view() for e in await core_of(request).store.webhooks()]}


@operation(
    "POST",
    roles=ADMIN,
    body=NEW_ENDPOINT,
    answers={JSON: shapes.record({"webhook": WEBHOOK, "secret": shapes.STRING})},
    errors=(InvalidWebhook,),
)
async def add_webhook(request: Request, args: Args) -> dict[str, Any]:
    """Register an endpoint for some event types (or `*`); the answer holds its signing
    secret, shown this once."""
    body = args.body
    endpoint = await webhooks.add_endpoint(
        core_of(request), body["url"], body["events"], body.get("description"), args.staff.actor
    )
    return {"webhook": endpoint.view(), "secret": endpoint.secret}


@operation(
    "DELETE",
    roles=ADMIN,
    path=ID,
    answers={JSON: shapes.record({"webhook": WEBHOOK})},
    errors=(WebhookNotFound,),
)
async def delete_webhook(request: Request, args: Args) -> dict[str, Any]:
    """Stop deliveries to the endpoint; its delivery log stays readable."""
    deleted = await webhooks.delete_endpoint(core_of(request), args.path("id"), args.staff.actor)
    return {"webhook": deleted.view()}


@operation(
    roles=ADMIN,
    path=ID,
    query=PAGE,
    answers={JSON: shapes.items(DELIVERY, paged=True)},
    errors=(WebhookNotFound,),
)
async def deliveries(request: Request, args: Args) -> dict[str, Any]:
    """The endpoint's delivery log, newest first, paged: each event's id and type, its
    state, every attempt (time, status or error, duration) and the next attempt's time."""
    paging = args.paging
    page = await webhooks.delivery_log(
        core_of(request), args.path("id"), paging.after, paging.limit
    )
    return {
        "items": [d.view() for d in page.items],
        "next_cursor": paging.next_cursor(page.next_cursor),
    }
