"""Bus messages: typed, and nothing but their own encoding decodes."""

from __future__ import annotations

from typing import Any

import pytest

from parley.bus.messages import (
    CannedChanged,
    ConversationChanged,
    ConversationStarted,
    EventAdded,
    Flooding,
    HoldChanged,
    MalformedMessage,
    Message,
    PolicyInForce,
    ReadUpTo,
    StaffRevoked,
    Typing,
    decode,
    encode,
    is_ephemeral,
)

EVERY_KIND: list[Message] = [
    EventAdded({"conversation_id": "c_1234567890", "seq": 2, "type": "message"}),
    ConversationChanged({"id": "c_1234567890", "last_seq": 2}),
    Flooding("c_1234567890"),
    ConversationStarted("v_1", {"id": "c_1234567890"}),
    StaffRevoked("s_1", "2026-11-01T12:00:00.000Z"),
    PolicyInForce({"policy_id": "conduct", "version": 2}),
    Typing("c_1234567890", "visitor", {}, True),
    Typing("c_1234567890", "agent", {"id": "s_1", "name": "Alice"}, False),
    ReadUpTo("c_1234567890", "agent", {"id": "s_1", "name": "Alice"}, 7),
    CannedChanged({"items": [{"id": "k_1", "shortcut": "hi", "text": "Hello!"}]}),
    HoldChanged({"id": "h_1", "scope": "visitor", "target": "v_1", "lifted_at": None}),
]


@pytest.mark.parametrize("message", EVERY_KIND, ids=lambda m: type(m).__name__)
def test_every_kind_survives_its_encoding(message: Message) -> None:
    assert decode(encode(message)) == message


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "event",
        {},
        {"kind": "nope"},
        {"kind": "event"},
        {"kind": "event", "event": {"seq": 1}},
        {"kind": "event", "event": {"conversation_id": "c_1", "seq": "1"}},
        {"kind": "event", "event": {"conversation_id": "c_1", "seq": True}},
        {"kind": "flooding", "conversation_id": 7},
        {"kind": "flooding", "conversation_id": "c_1", "extra": 1},
        {"kind": "conversation", "summary": "not an object"},
        {"kind": "revoked", "staff_id": "s_1"},
        {"kind": "typing", "conversation_id": "c_1", "role": "visitor", "sender": {}, "state": 1},
        {"kind": "typing", "conversation_id": "c_1", "role": "robot", "sender": {}, "state": True},
        {"kind": "typing", "conversation_id": "c_1", "role": "agent", "sender": {}},
        {"kind": "read", "conversation_id": "c_1", "role": "agent", "sender": {}, "seq": True},
        {"kind": "read", "conversation_id": "c_1", "role": "agent", "sender": {}, "seq": "3"},
        {"kind": "read", "conversation_id": "c_1", "role": "agent", "sender": {}, "seq": -1},
        {"kind": "canned", "replies": {"items": "none"}},
        {"kind": "canned", "replies": []},
        {"kind": "hold", "hold": {"id": "h_1", "scope": "visitor", "target": "v_1"}},
        {"kind": "hold", "hold": {"id": "h_1", "scope": 1, "target": "v_1", "lifted_at": None}},
    ],
)
def test_anything_else_is_refused_with_a_typed_error(payload: Any) -> None:
    with pytest.raises(MalformedMessage):
        decode(payload)


def test_only_typing_and_read_state_are_ephemeral() -> None:
    """What a full inbox may shed (web/sockets.py): signals, never events or list changes."""
    assert [type(m).__name__ for m in EVERY_KIND if is_ephemeral(m)] == [
        "Typing", "Typing", "ReadUpTo",
    ]  # fmt: skip
