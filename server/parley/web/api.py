"""The public endpoints of the HTTP API: health, the policy in force, keys, the widget.

Errors are JSON ``{"error": {"code", "message"}}`` with the codes of
``docs/protocol.md`` (:mod:`parley.web.errors`); how endpoints are declared,
authenticated and read is :mod:`parley.web.operations`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from parley.domain.anchor import log_verifier_key
from parley.domain.widget import WidgetBuild
from parley.keys import public_key_base64
from parley.service.core import policy_view
from parley.web import shapes
from parley.web.operations import JSON, Args, core_of, operation
from parley.web.sockets import origin_allowed

#: The status answer depends on the Origin, and any page may read it.
WIDGET_STATUS_HEADERS = {"Access-Control-Allow-Origin": "*", "Vary": "Origin"}

POLICY = shapes.record(
    {
        "policy_id": shapes.STRING,
        "version": {"type": "integer"},
        "sha256": shapes.STRING,
        "text": shapes.STRING,
        "clauses": {"type": "array", "items": shapes.OBJECT},
        "language": shapes.STRING,
        "languages": {"type": "array", "items": shapes.STRING},
    }
)
KEYS = shapes.record(
    {
        "algorithm": {"const": "Ed25519"},
        "public_key": shapes.STRING,
        "log": shapes.record(
            {
                "origin": shapes.STRING,
                "verifier_key": shapes.STRING,
                "witnesses": {"type": "array", "items": shapes.STRING},
            }
        ),
        "latest_checkpoint": {"type": ["object", "null"]},
    }
)
BUILD = shapes.record(
    {"build": shapes.STRING, "sha256": shapes.STRING, "sri": shapes.STRING, "url": shapes.STRING}
)


@operation(answers={JSON: POLICY})
async def policy_in_force(request: Request, args: Args) -> dict[str, Any]:
    """The policy version in force, in its governing language."""
    return policy_view(core_of(request).policy_in_force())


@operation(answers={JSON: KEYS})
async def signing_key(request: Request, args: Args) -> dict[str, Any]:
    """The public key that verifies checkpoints: publish it where disputes can find it.

    Also the log's origin and verifier key, its witnesses, and the latest signed checkpoint."""
    core = core_of(request)
    latest = await core.store.latest_checkpoint()
    return {
        "algorithm": "Ed25519",
        "public_key": public_key_base64(core.key),
        "log": {
            "origin": core.log_origin,
            "verifier_key": str(log_verifier_key(core.log_origin, core.key)),
            "witnesses": [str(w.key) for w in core.witnesses],
        },
        "latest_checkpoint": (
            {"checkpoint": latest[0].to_dict(), "signature": latest[1]} if latest else None
        ),
    }


@operation(
    answers={JSON: shapes.record({"allowed": {"type": "boolean"}})},
    headers={"Access-Control-Allow-Origin": "*: any page may read it"},
)
async def widget_status(request: Request, args: Args) -> Response:
    """Whether the visitor socket takes the calling page's Origin.

    A browser cannot read why a WebSocket upgrade failed; the widget asks here
    so it can tell the visitor that chat is not offered on this site instead of
    retrying for ever. Any page may ask (the answer is no secret), so it is
    served with ``Access-Control-Allow-Origin: *``.
    """
    allowed = origin_allowed(request, request.app.state.settings)
    return JSONResponse({"allowed": allowed}, headers=WIDGET_STATUS_HEADERS)


@operation(answers={JSON: BUILD})
async def widget_build(request: Request, args: Args) -> dict[str, Any]:
    """The widget build this server serves.

    What the embed snippet pins (``parley widget snippet``), and what acceptances are
    weighed against."""
    widget: WidgetBuild = request.app.state.widget
    return {"build": widget.build, "sha256": widget.sha256, "sri": widget.sri, "url": widget.path}


@operation(answers={JSON: shapes.record({"status": {"const": "ok"}})})
async def health(request: Request, args: Args) -> dict[str, Any]:
    """Whether the server is up: ``{"status": "ok"}``."""
    return {"status": "ok"}
