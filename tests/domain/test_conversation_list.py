"""The agents' conversation list and its deltas: a console that merges them stays exact."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from harness import merge
from parley.domain.lobby import ConversationList, delta

TIMES = st.sampled_from([f"2026-03-01T09:{m:02d}:00.000Z" for m in range(5)])
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "updated_at": TIMES,
    "head_hash": st.sampled_from(["a" * 64, "b" * 64, "c" * 64]),
    "agents": st.lists(st.sampled_from(["s_1", "s_2"]), max_size=2, unique=True),
    "waiting_since": st.none() | TIMES,
    "last_message": st.none() | st.text(max_size=5),
    "last_author": st.sampled_from([None, "visitor", "agent"]),
}


def summary(conversation_id: str, last_seq: int, state: str = "open", **fields: Any) -> dict:
    """A summary with every field Conversation.to_dict gives."""
    return {
        "id": conversation_id,
        "visitor_id": f"v_{conversation_id}",
        "policy": {"policy_id": "conduct", "version": 2, "sha256": "f" * 64},
        "state": state,
        "started_at": "2026-03-01T09:00:00.000Z",
        "updated_at": "2026-03-01T09:00:00.000Z",
        "last_seq": last_seq,
        "head_hash": "a" * 64,
        "agents": [],
        "waiting_since": None,
        "last_message": None,
        "last_author": None,
        "ended_at": None,
        "closed_clause": None,
        **fields,
    }


def replace(copy: dict[str, dict], item: dict) -> None:
    """The rule for full consoles."""
    if item["state"] == "open":
        copy[item["id"]] = dict(item)
    else:
        copy.pop(item["id"], None)


def test_a_delta_holds_the_id_and_only_the_fields_that_changed() -> None:
    old = summary("c_1", 3, waiting_since="2026-03-01T09:01:00.000Z", last_message="hi")
    new = {**old, "last_seq": 4, "waiting_since": None, "agents": ["s_1"]}
    assert delta(old, new) == {"id": "c_1", "last_seq": 4, "waiting_since": None, "agents": ["s_1"]}


def test_a_conversation_not_announced_before_goes_whole() -> None:
    new = summary("c_1", 2)
    assert delta(None, new) == new


def test_an_ended_conversation_is_a_removal_with_its_state_only() -> None:
    for state in ("resolved", "closed"):
        ended = summary("c_1", 5, state, ended_at="2026-03-01T09:04:00.000Z")
        assert delta(summary("c_1", 4), ended) == {"id": "c_1", "state": state}
        assert delta(None, ended) == {"id": "c_1", "state": state}


def test_nothing_changed_means_no_delta() -> None:
    assert delta(summary("c_1", 2), summary("c_1", 2)) is None


def test_a_round_names_each_conversation_once_with_its_newest_summary() -> None:
    lobby = ConversationList()
    for seq in (2, 3, 4):
        lobby.change(summary("c_1", seq, last_message=f"m{seq}"))
    lobby.flag("c_1")
    first = lobby.announce()
    assert first is not None
    assert [s["last_seq"] for s in first.summaries] == [4]
    assert first.deltas == [summary("c_1", 4, last_message="m4")]
    assert first.flooding == ["c_1"]
    assert not lobby.pending and lobby.announce() is None


def test_a_late_or_repeated_summary_changes_nothing() -> None:
    lobby = ConversationList()
    lobby.load([summary("c_1", 5, last_message="newest")])
    lobby.change(summary("c_1", 4, last_message="older"))
    lobby.change(summary("c_1", 5, last_message="newest"))
    assert lobby.pending
    assert lobby.announce() is None, "a round of nothing new is not sent"
    assert lobby.snapshot() == [summary("c_1", 5, last_message="newest")]


def test_a_late_summary_from_before_the_end_does_not_bring_a_conversation_back() -> None:
    lobby = ConversationList()
    lobby.change(summary("c_1", 4))
    lobby.announce()
    lobby.change(summary("c_1", 5, "resolved"))
    lobby.announce()
    lobby.change(summary("c_1", 4))
    assert lobby.announce() is None
    lobby.load([summary("c_1", 4)])
    assert lobby.snapshot() == [], "not from the store's list read before the end either"


def test_only_the_latest_ends_are_remembered() -> None:
    lobby = ConversationList(remember_ended=2)
    for n in range(3):
        lobby.change(summary(f"c_{n}", 5, "closed"))
    lobby.announce()
    lobby.load([summary(f"c_{n}", 4) for n in range(3)])
    assert [s["id"] for s in lobby.snapshot()] == ["c_0"], "the oldest end was forgotten"


def test_loading_keeps_a_newer_summary_already_announced() -> None:
    lobby = ConversationList()
    lobby.change(summary("c_1", 6))
    lobby.announce()
    lobby.load([summary("c_1", 5)])
    assert [s["last_seq"] for s in lobby.snapshot()] == [6]


def test_the_snapshot_lists_open_conversations_waiting_first() -> None:
    lobby = ConversationList()
    lobby.load(
        [
            summary("c_idle", 2, updated_at="2026-03-01T09:03:00.000Z"),
            summary("c_wait", 2, waiting_since="2026-03-01T09:02:00.000Z"),
        ]
    )
    lobby.change(summary("c_gone", 3, "resolved"))
    lobby.announce()
    assert [s["id"] for s in lobby.snapshot()] == ["c_wait", "c_idle"]


def test_the_counts_are_of_the_open_conversations_as_announced() -> None:
    """Metrics: open, waiting for an answer, and unassigned (in the queue) — ended ones gone."""
    lobby = ConversationList()
    lobby.load(
        [
            summary("c_idle", 2, assignee={"id": "s_1", "name": "Ann"}),
            summary("c_wait", 2, waiting_since="2026-03-01T09:02:00.000Z"),
            summary("c_ends", 2),
        ]
    )
    lobby.change(summary("c_ends", 3, "closed"))
    assert lobby.counts() == {"open": 3, "waiting": 1, "unassigned": 2}, "until announced"
    lobby.announce()
    assert lobby.counts() == {"open": 2, "waiting": 1, "unassigned": 1}


@given(
    old=st.fixed_dictionaries(FIELDS),
    new=st.fixed_dictionaries(FIELDS),
)
def test_merging_the_delta_into_the_old_summary_gives_the_new_one(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    before, after = summary("c_1", 2, **old), summary("c_1", 3, **new)
    copy = {"c_1": dict(before)}
    item = delta(before, after)
    assert item is not None
    merge(copy, item)
    assert copy == {"c_1": after}


STEP = st.one_of(
    st.tuples(st.just("change"), st.integers(0, 3), st.fixed_dictionaries(FIELDS), st.booleans()),
    st.tuples(st.just("late"), st.integers(0, 3)),
    st.tuples(st.just("flag"), st.integers(0, 3)),
    st.tuples(st.just("announce")),
    st.tuples(st.just("console")),
)


@given(loaded=st.integers(0, 3), steps=st.lists(STEP, max_size=40))
def test_consoles_that_start_from_the_snapshot_stay_equal_to_the_list(
    loaded: int, steps: list[tuple[Any, ...]]
) -> None:
    """Whenever they join, consoles that apply every later round — merging deltas, or
    replacing by whole summaries — hold exactly the open list as announced."""
    lobby = ConversationList()
    seqs = {f"c_{i}": 2 for i in range(4)}
    lobby.load([summary(f"c_{i}", 2) for i in range(loaded)])
    ended: set[str] = set()
    history: dict[str, list[dict]] = {c: [] for c in seqs}
    consoles: list[tuple[dict[str, dict], dict[str, dict]]] = []
    for step in [*steps, ("announce",), ("console",)]:
        if step[0] == "change":
            conversation_id = f"c_{step[1]}"
            if conversation_id in ended:
                continue
            seqs[conversation_id] += 1
            state = "resolved" if step[3] and seqs[conversation_id] > 4 else "open"
            if state != "open":
                ended.add(conversation_id)
            new = summary(conversation_id, seqs[conversation_id], state, **step[2])
            history[conversation_id].append(new)
            lobby.change(new)
        elif step[0] == "late" and len(history[f"c_{step[1]}"]) > 1:
            lobby.change(history[f"c_{step[1]}"][-2])
        elif step[0] == "flag":
            lobby.flag(f"c_{step[1]}")
        elif step[0] == "console":
            snapshot = {s["id"]: s for s in lobby.snapshot()}
            consoles.append((dict(snapshot), {k: dict(v) for k, v in snapshot.items()}))
        elif (round_ := lobby.announce()) is not None:
            for merged, replaced in consoles:
                for item in round_.deltas:
                    merge(merged, item)
                for whole in round_.summaries:
                    replace(replaced, whole)
        listed = {s["id"]: s for s in lobby.snapshot()}
        for merged, replaced in consoles:
            if step[0] == "announce":
                assert merged == listed
                assert replaced == listed
