"""One error hierarchy, each client-facing error mapped to one stable wire code."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import parley
from parley import errors as e
from parley.protocol.errors import (
    CODES,
    FAULT_MESSAGES,
    INTERNAL,
    code_of,
    error_body,
    error_frame,
    fault_frame,
    is_fault,
)


def import_all_of_parley() -> None:
    """Import every module, so error classes defined anywhere in the package are seen."""
    for module in pkgutil.walk_packages(parley.__path__, "parley."):
        importlib.import_module(module.name)


def all_subclasses(cls: type) -> set[type]:
    """Every subclass of ``cls`` defined in the package (not the ones tests define)."""
    found: set[type] = set()
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("parley."):
            found |= {sub, *all_subclasses(sub)}
    return found


def raised_parley_errors() -> set[type[e.ParleyError]]:
    """Every ParleyError subclass that appears as ``raise Name(...)`` in the package."""
    import_all_of_parley()
    by_name = {cls.__name__: cls for cls in all_subclasses(e.ParleyError) | {e.ParleyError}}
    raised: set[type[e.ParleyError]] = set()
    for path in Path(parley.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if name in by_name:
                raised.add(by_name[name])
    return raised


def test_every_concrete_error_has_a_wire_code() -> None:
    """Error mapping: every leaf of the ParleyError tree maps to a code (none left unmapped)."""
    import_all_of_parley()
    classes = all_subclasses(e.ParleyError)
    leaves = {cls for cls in classes if not all_subclasses(cls)}
    assert leaves, "the hierarchy has no leaves"
    unmapped = sorted(cls.__qualname__ for cls in leaves - CODES.keys())
    assert unmapped == []


def test_every_raised_error_has_a_wire_code() -> None:
    """Error mapping: a class the server raises is never answered with the 'internal' code."""
    raised = raised_parley_errors()
    assert e.PolicyMismatch in raised  # the scan finds raises at all
    unmapped = sorted(cls.__qualname__ for cls in raised - CODES.keys())
    assert unmapped == []


def test_only_parley_errors_are_mapped() -> None:
    """Error mapping: CODES holds ParleyError classes only."""
    assert all(issubclass(cls, e.ParleyError) for cls in CODES)


def test_codes_are_unique() -> None:
    """Error mapping: each wire code names exactly one error class."""
    codes = [code for code, _ in CODES.values()]
    assert len(codes) == len(set(codes))
    assert INTERNAL[0] not in codes


def test_http_statuses_are_errors() -> None:
    """Error mapping: every error maps to a 4xx or 5xx HTTP status."""
    assert all(400 <= status <= 599 for _, status in CODES.values())


def test_published_codes_never_change() -> None:
    """Protocol: codes are part of the protocol (docs/protocol.md); never rename one."""
    assert {cls.__name__: code for cls, (code, _) in CODES.items()} == {
        "PolicyInvalid": "policy_invalid",
        "PolicyConflict": "policy_conflict",
        "PolicyNotAccepted": "policy_not_accepted",
        "PolicyMismatch": "policy_mismatch",
        "AlreadyAccepted": "already_accepted",
        "ConversationClosed": "conversation_closed",
        "ConversationNotFound": "not_found",
        "NotJoined": "not_joined",
        "UnknownClause": "unknown_clause",
        "UnknownLanguage": "unknown_language",
        "AlreadyAssigned": "already_assigned",
        "NotAssignee": "not_assignee",
        "UnknownAgent": "unknown_agent",
        "BadJson": "bad_json",
        "UnknownType": "unknown_type",
        "InvalidFrame": "invalid_frame",
        "MessageTooLong": "message_too_long",
        "HelloRequired": "hello_required",
        "Unauthorized": "unauthorized",
        "Forbidden": "forbidden",
        "InvalidResumeToken": "invalid_token",
        "BadRequest": "bad_request",
        "StaffNotFound": "staff_not_found",
        "StaffNameTooLong": "staff_name_too_long",
        "BadEvidence": "bad_evidence",
        "RateLimited": "rate_limited",
        "Barred": "barred",
        "InvalidEmail": "invalid_email",
        "BanNotFound": "ban_not_found",
        "VisitorNotFound": "visitor_not_found",
        "CannedReplyNotFound": "canned_reply_not_found",
        "ShortcutTaken": "shortcut_taken",
        "CheckpointNotFound": "checkpoint_not_found",
        "HoldNotFound": "hold_not_found",
        "WidgetBuildNotFound": "widget_build_not_found",
        "NotAcceptable": "not_acceptable",
        "HoldAlreadyLifted": "hold_already_lifted",
        "InvalidHoldReason": "invalid_hold_reason",
        "InvalidErasureBasis": "invalid_erasure_basis",
        "InvalidWebhook": "invalid_webhook",
        "WebhookNotFound": "webhook_not_found",
        "StoreUnavailable": "unavailable",
        "TimestampUnavailable": "timestamp_unavailable",
        "TimestampInvalid": "timestamp_invalid",
        "PdfSigningUnconfigured": "pdf_signing_unconfigured",
    }


@pytest.mark.parametrize("cls", sorted(CODES, key=lambda c: c.__name__))
def test_error_frame_has_type_code_and_message(cls: type[e.ParleyError]) -> None:
    """Invariant 7: every error reaches the client as {"type": "error", "code", "message"}."""
    if cls is e.PolicyInvalid:
        error: e.ParleyError = e.PolicyInvalid(["a.toml: $: broken"])
    elif cls is e.RateLimited:
        error = e.RateLimited("slow down", 2.25)
    elif cls is e.Barred:
        error = e.Barred("barred", None, {"id": "1.2"}, "c_1")
    else:
        error = cls("why")
    extra: dict[str, object] = {"retry_after": 2.2} if cls is e.RateLimited else {}
    if cls is e.Barred:
        extra = {"until": None, "clause": {"id": "1.2"}, "reference": "c_1"}
    frame = error_frame(error)
    assert frame == {"type": "error", "code": CODES[cls][0], "message": str(error), **extra}
    body = {"code": CODES[cls][0], "message": str(error), **extra}
    assert error_body(error) == {"error": body}


def test_error_frame_carries_context() -> None:
    """Protocol: an error frame names the request it answers when given one."""
    frame = error_frame(e.PolicyMismatch("stale"), request="accept")
    assert frame == {
        "type": "error",
        "code": "policy_mismatch",
        "message": "stale",
        "request": "accept",
    }


def test_an_unmapped_class_is_internal_not_its_parents_code() -> None:
    """Error mapping: code_of uses the error's own class; an unmapped one is 'internal'."""

    class Unmapped(e.BadJson):
        pass

    assert code_of(e.BadJson("x")) == ("bad_json", 400)
    assert code_of(Unmapped("x")) == INTERNAL
    assert code_of(e.ProtocolError("x")) == INTERNAL


def test_a_fault_frame_carries_a_fixed_text_and_the_error_id_never_the_detail() -> None:
    """No internals to clients: an unavailable store's driver text (hosts, ports) stays in the
    log; the client is told the documented text and the id the detail was logged under."""
    detail = "Error 111 connecting to 10.0.0.7:6379. Connection refused."
    error = e.StoreUnavailable(f"the Redis store could not complete the request: {detail}")
    assert is_fault(error)
    frame = fault_frame(error, "e_1", request="message", client_id="m1")
    assert frame == {
        "type": "error",
        "code": "unavailable",
        "message": FAULT_MESSAGES["unavailable"],
        "error_id": "e_1",
        "request": "message",
        "client_id": "m1",
    }
    assert "6379" not in str(frame) and "10.0.0.7" not in str(frame)


def test_an_unexpected_exception_is_an_internal_fault() -> None:
    """No internals to clients: an exception that is no ParleyError is told as `internal`."""
    error = KeyError("session.feeds['c_secret']")
    assert is_fault(error)
    frame = fault_frame(error, "e_2")
    assert frame == {
        "type": "error",
        "code": "internal",
        "message": FAULT_MESSAGES["internal"],
        "error_id": "e_2",
    }


def test_only_faults_of_the_server_hide_their_message() -> None:
    """Error mapping: client errors keep their explanation; each fault text names a real code."""
    assert not is_fault(e.NotJoined("join first"))
    assert not is_fault(e.BadJson("frame is not valid JSON"))
    assert set(FAULT_MESSAGES) == {"unavailable", INTERNAL[0]}
    assert {code for code, _ in CODES.values()} >= set(FAULT_MESSAGES) - {INTERNAL[0]}
