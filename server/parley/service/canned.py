"""Canned replies: admins add, change and delete them; every agent console hears of it.

Each change is audited and then announced on the bus (topic ``canned``) with
the whole list, which agent sessions forward as a ``canned`` frame.
"""

from __future__ import annotations

from parley.bus.messages import CannedChanged
from parley.domain.audit import Actor, AuditAction, AuditDraft
from parley.domain.canned import CannedReply, listing
from parley.domain.transcript import format_time
from parley.errors import CannedReplyNotFound
from parley.service.core import Core


def _draft(by: Actor, action: AuditAction, reply: CannedReply) -> AuditDraft:
    details = {"id": reply.id, "shortcut": reply.shortcut}
    if action is not AuditAction.CANNED_REPLY_DELETED:
        details["text"] = reply.text
    return AuditDraft(by, action, details=details)


async def replies(core: Core) -> list[dict[str, str]]:
    """Every canned reply as clients get them, by shortcut."""
    return listing(await core.store.canned_replies())


async def _announce(core: Core) -> None:
    await core.bus.publish(CannedChanged({"items": await replies(core)}))


async def add(core: Core, shortcut: str, text: str, by: Actor) -> CannedReply:
    """Store a new reply; ShortcutTaken, storing nothing, if the shortcut is in use."""
    reply = CannedReply(core.ids("k"), shortcut, text, format_time(core.clock()))
    await core.store.add_canned_reply(reply)
    await core.audit(_draft(by, AuditAction.CANNED_REPLY_ADDED, reply))
    await _announce(core)
    return reply


async def change(core: Core, reply_id: str, shortcut: str, text: str, by: Actor) -> CannedReply:
    """Replace a reply's shortcut and text; CannedReplyNotFound or ShortcutTaken otherwise."""
    reply = CannedReply(reply_id, shortcut, text, format_time(core.clock()))
    if await core.store.change_canned_reply(reply) is None:
        raise CannedReplyNotFound(f"no canned reply {reply_id}")
    await core.audit(_draft(by, AuditAction.CANNED_REPLY_CHANGED, reply))
    await _announce(core)
    return reply


async def delete(core: Core, reply_id: str, by: Actor) -> CannedReply:
    """Remove a reply; CannedReplyNotFound if there is none."""
    reply = await core.store.delete_canned_reply(reply_id)
    if reply is None:
        raise CannedReplyNotFound(f"no canned reply {reply_id}")
    await core.audit(_draft(by, AuditAction.CANNED_REPLY_DELETED, reply))
    await _announce(core)
    return reply
