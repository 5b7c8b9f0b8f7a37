"""The one exception hierarchy of Parley.

Every error a client can cause is a subclass of :class:`ParleyError`.
``parley.protocol.errors`` maps each concrete class to exactly one stable wire
code; a test checks that none is left unmapped::

    ParleyError
    ├── PolicyError                 policy files and their publication
    │   ├── PolicyInvalid           a file fails the schema or a semantic rule
    │   └── PolicyConflict          a published version's text would change
    ├── ConversationError           rules of a conversation
    │   ├── PolicyNotAccepted       chat before accepting the policy in force
    │   ├── PolicyMismatch          accept echoes a stale or wrong version/digest
    │   ├── AlreadyAccepted         accept while a conversation is open
    │   ├── ConversationClosed      write to a resolved or closed conversation
    │   ├── ConversationNotFound    unknown conversation id
    │   ├── NotJoined               agent writes before joining
    │   ├── UnknownClause           clause id absent from the accepted version
    │   ├── BadEvidence             quoted seqs that are not the visitor's messages
    │   ├── AlreadyAssigned         claim a conversation another agent (or you) holds
    │   ├── NotAssignee             act on a conversation assigned to someone else
    │   ├── InvalidEmail            an away-mode contact that is not an e-mail address
    │   └── Barred                  a barred visitor tries to start a conversation
    ├── ProtocolError               frames that cannot be understood
    │   ├── BadJson                 not JSON, or not a JSON object
    │   ├── UnknownType             a "type" the endpoint does not know
    │   ├── InvalidFrame            schema violation (missing/extra/wrong field)
    │   ├── MessageTooLong          text over the configured limit
    │   └── HelloRequired           a frame before the session's hello
    ├── AuthError
    │   ├── Unauthorized            no token, or a token that matches nobody
    │   ├── Forbidden               a valid token whose role may not do this
    │   └── InvalidResumeToken      a visitor resume token that matches nobody
    ├── RateLimited                 too many messages or new conversations, for now
    ├── BadRequest                  an HTTP query parameter or body is invalid
    ├── StaffNameTooLong            a new staff member's name is over the limit
    ├── StaffNotFound               no staff member has this id
    ├── UnknownAgent                transfer to someone who is not an active chat agent
    ├── BanNotFound                 no bar has this id
    ├── VisitorNotFound             the store holds nothing about this visitor id
    ├── CannedReplyNotFound         no canned reply has this id
    ├── ShortcutTaken               another canned reply has this shortcut
    ├── CheckpointNotFound          no signed checkpoint of the log has this size
    ├── HoldNotFound                no legal hold has this id
    ├── WidgetBuildNotFound         a content-addressed widget URL naming another build
    ├── NotAcceptable               a static file asked for only in encodings it is not served in
    ├── HoldAlreadyLifted           lift a legal hold that was already lifted
    ├── InvalidHoldReason           a hold's reason that is blank or too long
    ├── InvalidErasureBasis         an erasure's basis that is blank or too long
    ├── InvalidWebhook              a webhook endpoint's URL or event types are not usable
    ├── WebhookNotFound             no webhook endpoint has this id
    ├── TimestampError              RFC 3161 time-stamping
    │   ├── TimestampUnavailable    the TSA could not be asked, or gave no valid stamp
    │   └── TimestampInvalid        a token that does not prove what it is checked for
    ├── PdfSigningUnconfigured      no certificate and key to sign PDF evidence with
    └── StoreUnavailable            the store cannot commit right now
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


class ParleyError(Exception):
    """Base of every error a client can cause or be told about."""

    #: Fields added to the error frame or body beside code and message (read-only).
    extra: Mapping[str, object] = MappingProxyType({})


class PolicyError(ParleyError):
    """A policy file or publication problem."""


class PolicyInvalid(PolicyError):
    """One or more policy files are invalid; ``problems`` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class PolicyConflict(PolicyError):
    """A file's text differs from what was already published under its version."""


class ConversationError(ParleyError):
    """A conversation rule refused the action."""


class PolicyNotAccepted(ConversationError):
    """No acceptance of the policy in force is recorded for this conversation."""


class PolicyMismatch(ConversationError):
    """The accept frame does not echo the version and digest that were offered."""


class AlreadyAccepted(ConversationError):
    """The visitor already has an open conversation with an acceptance."""


class ConversationClosed(ConversationError):
    """The conversation has ended; it takes no more messages."""


class ConversationNotFound(ConversationError):
    """No conversation has this id."""


class NotJoined(ConversationError):
    """The agent has not joined this conversation."""


class UnknownClause(ConversationError):
    """The cited clause does not exist in the version the visitor accepted."""


class UnknownLanguage(ConversationError):
    """The policy version is not published in the language asked for."""


class BadEvidence(ConversationError):
    """A warning or closure quotes events that are not this visitor's messages."""


class AlreadyAssigned(ConversationError):
    """The conversation is no longer in the queue: someone claimed it first."""


class NotAssignee(ConversationError):
    """Only the conversation's assignee (or an admin) may do this."""


class InvalidEmail(ConversationError):
    """The e-mail address a visitor left is not one (checked by form, never by lookup)."""


class Barred(ConversationError):
    """The visitor (or their address) is barred from starting a conversation."""

    def __init__(
        self, message: str, until: str | None, clause: Mapping[str, str], reference: str
    ) -> None:
        super().__init__(message)
        self.extra = {"until": until, "clause": dict(clause), "reference": reference}


class ProtocolError(ParleyError):
    """An inbound frame cannot be understood."""


class BadJson(ProtocolError):
    """The frame is not JSON, or not a JSON object."""


class UnknownType(ProtocolError):
    """The frame's type is not one this endpoint accepts."""


class InvalidFrame(ProtocolError):
    """The frame violates its JSON Schema."""


class MessageTooLong(ProtocolError):
    """The message text is longer than the configured limit."""


class HelloRequired(ProtocolError):
    """The session has not said hello yet."""


class AuthError(ParleyError):
    """Authentication or authorisation failed."""


class Unauthorized(AuthError):
    """No credentials, or credentials that match no one."""


class Forbidden(AuthError):
    """The caller is known but its role may not do this."""


class InvalidResumeToken(AuthError):
    """The visitor's resume token matches no visitor."""


class RateLimited(ParleyError):
    """Too many messages, or too many new conversations; ``retry_after`` says when."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.extra = {"retry_after": round(retry_after, 1)}


class BadRequest(ParleyError):
    """An HTTP request parameter is invalid."""


class StaffNameTooLong(ParleyError):
    """A new staff member's name is longer than the consoles and widgets can show."""


class StaffNotFound(ParleyError):
    """No staff member has this id."""


class UnknownAgent(ParleyError):
    """A transfer names no active staff member who may chat."""


class BanNotFound(ParleyError):
    """No bar has this id."""


class VisitorNotFound(ParleyError):
    """The store holds no record and no conversation of this visitor id."""


class CannedReplyNotFound(ParleyError):
    """No canned reply has this id."""


class ShortcutTaken(ParleyError):
    """Another canned reply already has this shortcut."""


class CheckpointNotFound(ParleyError):
    """No checkpoint of the transcript log was signed (as a note) at this size."""


class HoldNotFound(ParleyError):
    """No legal hold has this id."""


class WidgetBuildNotFound(ParleyError):
    """``/widget/<sha256>.js`` names a build this server does not serve (only its current one)."""


class NotAcceptable(ParleyError):
    """The request's ``Accept-Encoding`` refuses every encoding a static file is served in."""


class HoldAlreadyLifted(ParleyError):
    """A legal hold is lifted once; this one already was."""


class InvalidHoldReason(ParleyError):
    """A legal hold's reason (placing or lifting) is blank or too long."""


class InvalidErasureBasis(ParleyError):
    """An erasure's basis (why personal data is erased) is blank or too long."""


class InvalidWebhook(ParleyError):
    """A webhook endpoint's URL is not http(s), or its event types are none or unknown."""


class WebhookNotFound(ParleyError):
    """No webhook endpoint has this id."""


class StoreUnavailable(ParleyError):
    """The store could not commit; nothing was acknowledged."""


class TimestampError(ParleyError):
    """Time-stamping (RFC 3161) failed."""


class TimestampUnavailable(TimestampError):
    """The time-stamping authority could not be asked, or did not grant a valid time stamp."""


class TimestampInvalid(TimestampError):
    """A time-stamp token does not hold for this data or these TSA certificates."""


class PdfSigningUnconfigured(ParleyError):
    """No certificate and key to sign PDF evidence with (``parley keys`` or PARLEY_PDF_*)."""
