"""Every client-facing error class maps to one stable wire code, here and only here.

Codes are part of the protocol (``docs/protocol.md``): never rename one.
"""

from __future__ import annotations

from typing import Any

from parley import errors as e

#: error class -> (wire code, HTTP status when raised by the HTTP API)
CODES: dict[type[e.ParleyError], tuple[str, int]] = {
    e.PolicyInvalid: ("policy_invalid", 500),
    e.PolicyConflict: ("policy_conflict", 409),
    e.PolicyNotAccepted: ("policy_not_accepted", 409),
    e.PolicyMismatch: ("policy_mismatch", 409),
    e.AlreadyAccepted: ("already_accepted", 409),
    e.ConversationClosed: ("conversation_closed", 409),
    e.ConversationNotFound: ("not_found", 404),
    e.NotJoined: ("not_joined", 409),
    e.UnknownClause: ("unknown_clause", 422),
    e.UnknownLanguage: ("unknown_language", 422),
    e.BadEvidence: ("bad_evidence", 422),
    e.AlreadyAssigned: ("already_assigned", 409),
    e.NotAssignee: ("not_assignee", 409),
    e.Barred: ("barred", 403),
    e.InvalidEmail: ("invalid_email", 422),
    e.BadJson: ("bad_json", 400),
    e.UnknownType: ("unknown_type", 400),
    e.InvalidFrame: ("invalid_frame", 400),
    e.MessageTooLong: ("message_too_long", 413),
    e.HelloRequired: ("hello_required", 400),
    e.Unauthorized: ("unauthorized", 401),
    e.Forbidden: ("forbidden", 403),
    e.InvalidResumeToken: ("invalid_token", 401),
    e.RateLimited: ("rate_limited", 429),
    e.BadRequest: ("bad_request", 400),
    e.StaffNameTooLong: ("staff_name_too_long", 422),
    e.StaffNotFound: ("staff_not_found", 404),
    e.BanNotFound: ("ban_not_found", 404),
    e.VisitorNotFound: ("visitor_not_found", 404),
    e.UnknownAgent: ("unknown_agent", 422),
    e.CannedReplyNotFound: ("canned_reply_not_found", 404),
    e.ShortcutTaken: ("shortcut_taken", 409),
    e.CheckpointNotFound: ("checkpoint_not_found", 404),
    e.HoldNotFound: ("hold_not_found", 404),
    e.WidgetBuildNotFound: ("widget_build_not_found", 404),
    e.NotAcceptable: ("not_acceptable", 406),
    e.HoldAlreadyLifted: ("hold_already_lifted", 409),
    e.InvalidHoldReason: ("invalid_hold_reason", 422),
    e.InvalidErasureBasis: ("invalid_erasure_basis", 422),
    e.InvalidWebhook: ("invalid_webhook", 400),
    e.WebhookNotFound: ("webhook_not_found", 404),
    e.StoreUnavailable: ("unavailable", 503),
    e.TimestampUnavailable: ("timestamp_unavailable", 503),
    e.TimestampInvalid: ("timestamp_invalid", 422),
    e.PdfSigningUnconfigured: ("pdf_signing_unconfigured", 409),
}

INTERNAL = ("internal", 500)

#: What a client is told of a fault on the server's side, by code: a fixed text, never the
#: detail (a driver's message names hosts and ports). The detail goes to the server log under
#: the ``error_id`` the frame carries (docs/protocol.md §1).
FAULT_MESSAGES = {
    "unavailable": "The service is unavailable just now and nothing was stored. "
    "Retry the same request.",
    INTERNAL[0]: "The server failed unexpectedly and closes this connection. Reconnect and resume.",
}

#: HTTP errors raised by routing itself (no ParleyError behind them)
HTTP_CODES = {404: "not_found", 405: "method_not_allowed"}


def code_of(error: e.ParleyError) -> tuple[str, int]:
    """The wire code and HTTP status of ``error`` (its own class, never a parent's)."""
    return CODES.get(type(error), INTERNAL)


def error_frame(error: e.ParleyError, **context: Any) -> dict[str, Any]:
    """The typed error frame sent on a WebSocket: ``{"type": "error", "code", "message", ...}``."""
    return {
        "type": "error",
        "code": code_of(error)[0],
        "message": str(error),
        **error.extra,
        **context,
    }


def is_fault(error: BaseException) -> bool:
    """Whether ``error`` is the server's fault, not the client's (it gets :func:`fault_frame`)."""
    return not isinstance(error, e.ParleyError) or code_of(error)[0] in FAULT_MESSAGES


def fault_frame(error: BaseException, error_id: str, **context: Any) -> dict[str, Any]:
    """The error frame for a fault: its code, a fixed message, and the id it was logged under."""
    code = code_of(error)[0] if isinstance(error, e.ParleyError) else INTERNAL[0]
    return {
        "type": "error",
        "code": code,
        "message": FAULT_MESSAGES[code],
        "error_id": error_id,
        **context,
    }


def error_body(error: e.ParleyError) -> dict[str, Any]:
    """The JSON body of an HTTP error response."""
    return {"error": {"code": code_of(error)[0], "message": str(error), **error.extra}}


def http_error_body(status: int, message: str) -> dict[str, Any]:
    """The JSON body of an HTTP error raised by routing (unknown path, wrong method)."""
    return {"error": {"code": HTTP_CODES.get(status, "http_error"), "message": message}}
