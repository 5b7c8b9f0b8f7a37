"""Anchoring conversation heads in the signed Merkle log, and evidence bundles.

A bundle holds everything a court or an auditor needs about one conversation
and can be verified offline (:mod:`parley.evidence.verify`): the transcript
with its hash chain, the acceptance with the exact policy text (and the text
that governs it, when it was accepted in a translation), the closure,
the agents, the audit entries, and an inclusion proof of the transcript's head
in a checkpoint signed by the server's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.domain.anchor import Checkpoint, Leaf, key_id, public_bytes, sign, sign_note
from parley.domain.audit import Actor, AuditAction, AuditDraft
from parley.domain.conversation import Conversation
from parley.domain.transcript import ENDINGS, Role, format_time
from parley.errors import ConversationNotFound
from parley.keys import public_key_base64
from parley.service.compliance import acceptance_record
from parley.service.core import Core
from parley.service.holds import holds_on

FORMAT = "parley-evidence/1"

HOW_TO_VERIFY = (
    "Run `parley evidence verify THIS_FILE.json --public-key KEY` with the operator's "
    "published Ed25519 public key; it needs no server and no database. It recomputes the "
    "SHA-256 of every transcript event (canonical JSON, RFC 8785, of every field but 'hash'; "
    "in events of format 2, each personal value replaced by its salted commitment, SHA-256 of "
    "its salt and its canonical JSON, which an erased field keeps without the value) "
    "and checks that each event's prev_hash is the hash of the event before it; rebuilds the "
    "accepted text from the structured policy in event 1 and checks its digest, and that the "
    "bundle's governing text (the one that governs a translation) hashes to event 1's "
    "governing_sha256; that any "
    "cited clause is quoted word for word; checks that the audit entries match their hashes "
    "and link to one another; recomputes the anchored leaf (the transcript's last event and "
    "last audit entry) and its RFC 9162 inclusion proof up to the checkpoint's root; and "
    "checks the checkpoint's Ed25519 signature, and that of the same checkpoint as a C2SP "
    "signed note (anchor.note). Any edit, deletion, insertion or reordering fails one of these "
    "checks. Add --witness KEY for each independent witness whose cosignature on that note "
    "you require: a log the operator rebuilt after a rewrite has none."
)


async def anchor(core: Core, conversations: list[Conversation]) -> tuple[Checkpoint, str] | None:
    """Append the heads not yet anchored, then sign a checkpoint of the whole log.

    Returns the new checkpoint and signature, or ``None`` when nothing changed.
    """
    at = format_time(core.clock())
    appended = False
    for conv in conversations:
        if await _anchored_leaf(core, conv) is None:
            audit = await core.store.last_audit(conv.id)
            leaf = Leaf(conv.id, conv.last_seq, conv.head_hash, audit.hash if audit else None, at)
            await core.store.append_leaf(leaf)
            appended = True
        await core.store.mark_anchored(conv.id, conv.last_seq)
    latest = await core.store.latest_checkpoint()
    size = await core.store.tree_size()
    if not size or (not appended and latest is not None and latest[0].tree_size == size):
        return None
    root = await core.store.merkle_root(size)
    public = public_bytes(core.key.public_key())
    checkpoint = Checkpoint(core.log_origin, size, root.hex(), at, key_id(public))
    signature = sign(core.key, checkpoint)
    await core.store.save_checkpoint(checkpoint, signature, sign_note(core.key, checkpoint))
    core.publisher.checkpoint_signed()
    return checkpoint, signature


#: Conversations one periodic anchoring reads at a time, and the most batches it takes
#: (under constant load heads keep moving; the rest waits for the next anchoring).
ANCHOR_BATCH = 500
ANCHOR_BATCHES = 20


async def anchor_moved(core: Core) -> int:
    """The periodic anchor: only the conversations whose head moved since they were anchored.

    The store knows them from the actions it committed (no scan of every open
    conversation). Returns how many heads were looked at.
    """
    await core.store.settle()
    seen = 0
    for _ in range(ANCHOR_BATCHES):
        moved = await core.store.moved_heads(ANCHOR_BATCH)
        if moved:
            await anchor(core, moved)
        seen += len(moved)
        if len(moved) < ANCHOR_BATCH:
            break
    return seen


async def _anchored_leaf(core: Core, conv: Conversation) -> tuple[int, Leaf] | None:
    """The conversation's leaf if it already commits to its current heads, else ``None``."""
    anchored = await core.store.leaves_of(conv.id)
    if not anchored:
        return None
    audit = await core.store.last_audit(conv.id)
    index, leaf = anchored[-1]
    current = (conv.last_seq, conv.head_hash, audit.hash if audit else None)
    return (index, leaf) if (leaf.seq, leaf.head_hash, leaf.audit_head) == current else None


async def _proof(core: Core, conv: Conversation) -> dict[str, Any]:
    """An inclusion proof of the conversation's current heads in the newest signed checkpoint.

    The checkpoint is first submitted to the witnesses (if any) so the bundle carries
    their cosignatures on its note.
    """
    found = await _anchored_leaf(core, conv)
    latest = await core.store.latest_checkpoint()
    if found is None or latest is None or latest[0].tree_size <= found[0]:
        await anchor(core, [conv])
        found = await _anchored_leaf(core, conv)
    await core.publisher.publish()
    signed = await core.store.signed_checkpoint()
    assert found is not None and signed is not None
    index, leaf = found
    proof = await core.store.inclusion_proof(index, signed.checkpoint.tree_size)
    return {
        "leaf": leaf.to_dict(),
        "leaf_index": index,
        "inclusion_proof": [h.hex() for h in proof],
        "checkpoint": signed.checkpoint.to_dict(),
        "signature": signed.signature,
        "note": signed.witnessed_note(),
        "timestamp": signed.timestamp,
        "public_key": public_key_base64(core.key),
    }


async def export(core: Core, conversation_id: str, actor: Actor) -> dict[str, Any]:
    """Build the evidence bundle of one conversation; the export itself is audited first."""
    if await core.store.conversation(conversation_id) is None:
        raise ConversationNotFound(f"no conversation {conversation_id}")
    exported = await core.audit(AuditDraft(actor, AuditAction.EVIDENCE_EXPORTED, conversation_id))
    conv = await core.store.conversation(conversation_id)
    assert conv is not None
    # The bundle is one consistent snapshot: the events up to the head it anchors.
    events = await core.store.events(conversation_id, until_seq=conv.last_seq)
    ending = next((e for e in events if e.type in ENDINGS), None)
    staff = {s.id: s for s in await core.store.staff()}
    agents = {
        e.author.id: {
            "id": e.author.id,
            "name": e.author.name,
            "role": staff[e.author.id].role.value if e.author.id in staff else None,
        }
        for e in events
        if e.author.role is Role.AGENT
    }
    audit = []
    cursor = None
    while True:
        page = await core.store.audit(cursor, 500, conversation_id)
        audit += [entry.to_dict() for entry in page.items]
        if (cursor := page.next_cursor) is None:
            break
    return {
        "format": FORMAT,
        "generated_at": exported.at,
        "generated_by": actor.to_dict(),
        "conversation": conv.to_dict(),
        "acceptance": acceptance_record(events[0], with_text=True),
        "transcript": [e.to_dict() for e in events],
        "closure": ending.to_dict() if ending else None,
        "agents": list(agents.values()),
        "audit": audit,
        "anchor": await _proof(core, conv),
        "how_to_verify": HOW_TO_VERIFY,
        # The legal holds in force on it as exported: a record of its status, outside
        # the chain and the signed log (they can be lifted; their audit entries are in it).
        "holds": [h.to_dict() for h in await holds_on(core, conv)],
    } | await _governing(core, conv, events[0].data)


async def _governing(core: Core, conv: Conversation, accepted: Mapping[str, Any]) -> dict[str, Any]:
    """The text that governs the accepted one: the ``governing`` section of a bundle whose
    acceptance names it (one recorded before translations names none)."""
    if "governing_sha256" not in accepted:
        return {}
    governing = await core.governing(conv.policy)
    return {
        "governing": {
            "language": governing.language,
            "sha256": governing.sha256,
            "text": governing.text,
        }
    }
