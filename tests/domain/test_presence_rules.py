"""What presence entries add up to: the team, each agent, each conversation's visitor."""

from __future__ import annotations

from parley.domain.presence import (
    AgentState,
    TeamState,
    VisitorState,
    agents,
    available_agents,
    changed,
    team_state,
    visitors,
)


def console(staff_id: str, state: str, name: str = "Ann") -> dict[str, str]:
    return {"id": staff_id, "name": name, "state": state}


def test_an_agent_is_available_if_any_of_their_consoles_is() -> None:
    team = agents([console("s1", "away"), console("s1", "available"), console("s2", "away", "Bo")])
    assert [(a.id, a.state) for a in team] == [("s1", AgentState.AVAILABLE), ("s2", "away")]
    assert available_agents(team) == ["s1"]


def test_the_team_is_available_away_or_offline() -> None:
    assert team_state(agents([console("s1", "away"), console("s2", "available")])) is (
        TeamState.AVAILABLE
    )
    assert team_state(agents([console("s1", "away")])) is TeamState.AWAY
    assert team_state([]) is TeamState.OFFLINE


def test_a_visitor_is_online_if_any_tab_is_not_idle_and_unlisted_at_the_gate() -> None:
    found = visitors(
        [
            {"visitor_id": "v1", "conversation_id": "c1", "idle": True},
            {"visitor_id": "v1", "conversation_id": "c1", "idle": False},
            {"visitor_id": "v2", "conversation_id": "c2", "idle": True},
            {"visitor_id": "v3", "conversation_id": None, "idle": False},
        ]
    )
    assert found == {"c1": VisitorState.ONLINE, "c2": VisitorState.IDLE}


def test_agents_are_told_what_changed_and_who_is_gone() -> None:
    before = {"c1": VisitorState.ONLINE, "c2": VisitorState.IDLE}
    after = {"c1": VisitorState.ONLINE, "c3": VisitorState.ONLINE}
    assert changed(before, after) == {"c3": VisitorState.ONLINE, "c2": VisitorState.GONE}
