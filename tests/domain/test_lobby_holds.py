"""The agents' list marks held conversations, and re-announces them as holds come and go."""

from __future__ import annotations

from typing import Any

from test_conversation_list import summary

from harness import merge
from parley.domain.lobby import ConversationList


def hold(hold_id: str, scope: str, target: str, lifted: bool = False) -> dict[str, Any]:
    lifted_at = "2026-03-01T10:00:00.000Z" if lifted else None
    return {"id": hold_id, "scope": scope, "target": target, "lifted_at": lifted_at}


def test_a_hold_re_announces_the_open_conversations_it_covers_and_only_those() -> None:
    lobby = ConversationList()
    lobby.load([summary("c_1", 2), summary("c_2", 2)])
    copy = {s["id"]: s for s in lobby.snapshot()}
    assert all("held" not in s for s in copy.values()), "never held: no flag"
    lobby.hold_changed(hold("h_1", "visitor", "v_c_1"))
    assert lobby.pending
    first = lobby.announce()
    assert first is not None and first.deltas == [{"id": "c_1", "held": True}]
    assert first.summaries == [{**summary("c_1", 2), "held": True}]
    lobby.hold_changed(hold("h_2", "conversation", "c_1"))
    assert lobby.announce() is None, "held already: nothing to say"
    lobby.hold_changed(hold("h_1", "visitor", "v_c_1", lifted=True))
    assert lobby.announce() is None, "still held by h_2"
    lobby.hold_changed(hold("h_2", "conversation", "c_1", lifted=True))
    last = lobby.announce()
    assert last is not None and last.deltas == [{"id": "c_1", "held": False}]
    for item in first.deltas + last.deltas:
        merge(copy, item)
    assert copy == {s["id"]: s for s in lobby.snapshot()}, "a delta console's copy stays exact"


def test_a_visitor_hold_marks_their_conversations_to_come() -> None:
    lobby = ConversationList()
    lobby.hold_changed(hold("h_1", "visitor", "v_c_9"))
    assert lobby.announce() is None
    lobby.change(summary("c_9", 1))
    later = lobby.announce()
    assert later is not None and later.deltas[0]["held"] is True
    assert lobby.snapshot()[0]["held"] is True


def test_a_lift_heard_before_the_holds_are_loaded_keeps_the_hold_out() -> None:
    """The lobby subscribes before it reads the store: a lift heard meanwhile stands."""
    lobby = ConversationList()
    lobby.hold_changed(hold("h_1", "conversation", "c_1", lifted=True))
    lobby.load_holds([hold("h_1", "conversation", "c_1")])
    lobby.load([summary("c_1", 2)])
    assert "held" not in lobby.snapshot()[0]
