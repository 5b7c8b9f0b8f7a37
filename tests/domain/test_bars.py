"""Bars: who they keep out, and for how long. Pure, with the time passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain.bans import Ban, longest, place
from parley.errors import InvalidFrame

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
CLAUSE = {"id": "1.2", "title": "Threats", "text": "Do not threaten."}


def bar(**request: object):  # type: ignore[no-untyped-def]
    return place(
        request, ban_id="b_1", visitor_id="v_bad", visitor_ip="198.51.100.7",
        conversation_id="c_1", clause=CLAUSE, by="s_alice", at=T0,
    )  # fmt: skip


def test_a_bar_expires_on_its_own() -> None:
    b = bar(hours=24)
    assert b.applies("v_bad", None, T0 + timedelta(hours=23, minutes=59))
    assert not b.applies("v_bad", None, T0 + timedelta(hours=24))


def test_a_permanent_bar_never_expires_but_can_be_lifted() -> None:
    b = bar(hours=None)
    assert b.until is None and b.applies("v_bad", None, T0 + timedelta(days=3650))
    lifted = b.lifted("s_admin", "appeal upheld", T0 + timedelta(days=1))
    assert not lifted.applies("v_bad", None, T0 + timedelta(days=2))


def test_by_visitor_only_unless_an_address_or_network_is_barred() -> None:
    assert not bar(hours=1).applies("v_other", "198.51.100.7", T0)
    by_ip = bar(hours=1, ip=True)
    assert by_ip.network == "198.51.100.7/32"
    assert by_ip.applies("v_other", "198.51.100.7", T0)
    assert not by_ip.applies("v_other", "198.51.100.8", T0)
    block = bar(hours=1, network="198.51.100.0/24")
    assert block.applies(None, "198.51.100.200", T0)
    assert not block.applies(None, "198.51.101.1", T0)
    assert not block.applies(None, "not an address", T0)


def test_a_network_that_is_not_one_is_refused() -> None:
    with pytest.raises(InvalidFrame, match="not a network"):
        bar(hours=1, network="300.1.2.0/24")


def test_the_longest_bar_wins_and_a_permanent_one_is_longest() -> None:
    day, week, forever = bar(hours=24), bar(hours=168), bar(hours=None)
    assert longest([day, week]) == week
    assert longest([day, forever, week]) == forever
    assert longest([]) is None


def test_a_bar_quotes_the_governing_clause_beside_a_translated_one_and_only_then() -> None:
    """Issue 16: a bar placed for a visitor who accepted a translation keeps the clause they
    read and the governing one; an English bar's record is what it was before translations."""
    german = {"id": "1.2", "title": "Drohungen", "text": "Drohen Sie niemandem."}
    translated = place(
        {"hours": 1}, ban_id="b_2", visitor_id="v_bad", visitor_ip=None, conversation_id="c_2",
        clause=german, by="s_alice", at=T0, governing_clause=CLAUSE,
    )  # fmt: skip
    assert translated.clause == german
    assert translated.to_dict()["governing_clause"] == CLAUSE
    assert Ban.from_dict(translated.to_dict()) == translated
    assert "governing_clause" not in bar(hours=1).to_dict()
