"""JSON Schemas of what the HTTP API answers, for the OpenAPI description.

They state what every answer has (its required fields and their types) and let
records carry more: a record's full shape is documented in docs/protocol.md and
docs/compliance.md, and the Schemathesis test checks every answer against these.
"""

from __future__ import annotations

from typing import Any

from parley.domain.agent import StaffRole
from parley.domain.holds import HoldScope

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
OBJECT = {"type": "object"}


def record(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """An object with ``required`` fields (more allowed), and ``optional`` ones if present."""
    return {
        "type": "object",
        "required": list(required),
        "properties": {**required, **optional},
    }


def items(item: dict[str, Any], paged: bool = False) -> dict[str, Any]:
    """``{"items": [item…]}``, with the ``next_cursor`` of the next page if ``paged``."""
    fields: dict[str, Any] = {"items": {"type": "array", "items": item}}
    if paged:
        fields["next_cursor"] = {
            "type": ["string", "null"],
            "description": "the cursor of the next page; null on the last",
        }
    return record(fields)


ERROR = record(
    {
        "error": record(
            {"code": STRING, "message": STRING},
            error_id={"type": "string", "description": "set on a fault: quote it to report it"},
        )
    }
)

ACTOR = record({"id": STRING, "name": STRING, "role": STRING})
STAFF = record(
    {
        "id": STRING,
        "name": STRING,
        "role": {"enum": [r.value for r in StaffRole]},
        "created_at": STRING,
        "revoked_at": NULLABLE_STRING,
    }
)
NEW_STAFF = record({"staff": STAFF, "token": {"type": "string", "description": "shown once"}})
BAN = record(
    {
        "id": STRING,
        "visitor_id": STRING,
        "conversation_id": STRING,
        "clause": OBJECT,
        "lifted_at": NULLABLE_STRING,
    }
)
HOLD = record(
    {
        "id": STRING,
        "scope": {"enum": [s.value for s in HoldScope]},
        "target": STRING,
        "reason": STRING,
        "placed_at": STRING,
        "placed_by": ACTOR,
        "lifted_at": NULLABLE_STRING,
        "lifted_by": {"oneOf": [ACTOR, {"type": "null"}]},
        "lift_reason": NULLABLE_STRING,
    }
)
REPLY = record({"id": STRING, "shortcut": STRING, "text": STRING, "updated_at": STRING})
CONVERSATION = record(
    {
        "id": STRING,
        "visitor_id": STRING,
        "policy": OBJECT,
        "state": STRING,
        "started_at": STRING,
        "last_seq": {"type": "integer"},
        "head_hash": STRING,
    }
)
ACCEPTANCE = record(
    {
        "conversation_id": STRING,
        "accepted_at": STRING,
        "visitor_id": STRING,
        "policy_id": STRING,
        "version": {"type": "integer"},
        "sha256": STRING,
        "event_hash": STRING,
    }
)
CLOSURE = record(
    {
        "conversation_id": STRING,
        "closed_at": STRING,
        "policy_id": STRING,
        "version": {"type": "integer"},
        "clause_id": STRING,
        "clause_text": STRING,
        "event_hash": STRING,
    }
)
AUDIT_ENTRY = record({"seq": {"type": "integer"}, "at": STRING, "actor": OBJECT, "action": STRING})

RECORD = record(
    {
        "conversation": CONVERSATION,
        "acceptance": OBJECT,
        "transcript": {"type": "array", "items": OBJECT},
        "closure": {"type": ["object", "null"]},
        "chain": record({"intact": {"type": "boolean"}, "head_hash": STRING}),
    }
)
EVIDENCE = record(
    {
        "format": {"const": "parley-evidence/1"},
        "generated_at": STRING,
        "conversation": CONVERSATION,
        "acceptance": OBJECT,
        "transcript": {"type": "array", "items": OBJECT},
        "anchor": {},
    }
)
ACCESS_COPY = record(
    {
        "format": STRING,
        "generated_at": STRING,
        "visitor": record({"id": STRING}),
        "conversations": {"type": "array", "items": OBJECT},
        "bars": {"type": "array", "items": OBJECT},
    }
)
CLOSURES = {
    **items(CLOSURE, paged=True),
    "required": ["items", "next_cursor", "counts"],
}
CLOSURES["properties"] = {
    **CLOSURES["properties"],
    "counts": {
        "type": "array",
        "items": record({"clause_id": STRING, "count": {"type": "integer"}}),
    },
}
CERTIFICATE = record(
    {"certificate": record({"format": STRING, "visitor_id": STRING}), "signature": STRING}
)
