"""A receipt against a bundle: any malformed bundle is refused by name, never with a crash."""

from __future__ import annotations

from typing import Any

import pytest

from parley.evidence.receipts import UnreadableBundle, against_bundle

SIGNED = {"conversation_id": "c_x", "event_seq": 1, "event_hash": "0" * 64}
EVENT = {
    "conversation_id": "c_x", "seq": 1, "type": "acceptance", "at": "2026-01-01T00:00:00.000Z",
    "author": {"role": "visitor", "id": "v_x", "name": None}, "data": {}, "client_id": None,
    "prev_hash": "0" * 64, "hash": "0" * 64,
}  # fmt: skip


@pytest.mark.parametrize(
    "bundle",
    [
        [],
        {"transcript": []},
        {"conversation": {"id": 7}, "transcript": []},
        {"conversation": {"id": "c_x"}, "transcript": 3},
        {"conversation": {"id": "c_x"}, "transcript": [{"seq": 1}]},
        {"conversation": {"id": "c_x"}, "transcript": [{**EVENT, "type": "chat"}]},
        {"conversation": {"id": "c_x"}, "transcript": [{**EVENT, "data": [1]}]},
    ],
    ids=[
        "list",
        "no conversation",
        "id not text",
        "transcript not a list",
        "event fields",
        "event type",
        "event data",
    ],
)
def test_a_malformed_bundle_is_unreadable(bundle: Any) -> None:
    with pytest.raises(UnreadableBundle, match="the bundle's transcript cannot be read"):
        against_bundle(SIGNED, bundle)


def test_a_broken_chain_is_named_before_any_comparison() -> None:
    bundle = {"conversation": {"id": "c_x"}, "transcript": [EVENT]}
    assert against_bundle(SIGNED, bundle) == [
        "the bundle's transcript is not an unbroken chain: "
        "event 1 was altered: its content does not match its hash"
    ]
