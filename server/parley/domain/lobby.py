"""The agents' list of open conversations as announced to consoles, and its deltas. Pure.

Consoles keep a copy of the list. Changes are announced in rounds
(:meth:`ConversationList.announce`); a round names each conversation that changed
since the last one once, with its newest summary, in two forms:

* whole summaries, for consoles that replace their copy by ``id`` (``full``);
* deltas, for consoles that merge (``delta``), from :func:`delta`:

  - a conversation not announced before: its whole summary;
  - an open one that changed: ``{"id": ..., <each field whose value changed>: ...}``;
  - one no longer open (a removal): ``{"id": ..., "state": "resolved" | "closed"}``.

A copy taken from :meth:`ConversationList.snapshot`, with the deltas of every
later round merged in order, is the list as announced: that is what makes
deltas safe, so a delta console's list must come from the snapshot, not the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from parley.domain.conversation import ConversationState, waiting_first

Summary = Mapping[str, Any]


def delta(old: Summary | None, new: Summary) -> dict[str, Any] | None:
    """What turns a console's copy ``old`` into ``new``; None when nothing changed."""
    if new["state"] != ConversationState.OPEN:
        return {"id": new["id"], "state": new["state"]}
    if old is None:
        return dict(new)
    changed = {k: v for k, v in new.items() if k not in old or old[k] != v}
    return {"id": new["id"], **changed} if changed else None


@dataclass(frozen=True)
class Round:
    """One round of changes: each conversation once as a whole summary and as a delta."""

    summaries: list[dict[str, Any]]
    deltas: list[dict[str, Any]]
    #: Open conversations whose visitor was rate-limited since the last round.
    flooding: list[str]


class ConversationList:
    """The open conversations as last announced, and the changes heard since.

    It remembers the last ``remember_ended`` conversations that ended, so that a
    summary from before an end, arriving late, does not bring one back.
    """

    def __init__(self, remember_ended: int = 10_000) -> None:
        self._open: dict[str, Summary] = {}
        self._changed: dict[str, Summary] = {}
        self._flooding: dict[str, None] = {}
        self._ended: dict[str, int] = {}  # id -> its last_seq, oldest end first
        self._remember_ended = remember_ended

    def load(self, summaries: Iterable[Summary]) -> None:
        """Take the store's open conversations as announced (before any console is told).

        A summary no newer than one already held or announced (by ``last_seq``) is ignored.
        """
        for summary in summaries:
            if not self._stale(summary):
                self._open[summary["id"]] = summary

    def change(self, summary: Summary) -> None:
        """Note a conversation's summary after a committed action; keep the newest heard."""
        heard = self._changed.get(summary["id"])
        if heard is None or summary["last_seq"] > heard["last_seq"]:
            self._changed[summary["id"]] = summary

    def flag(self, conversation_id: str) -> None:
        """Note that a conversation's visitor is being rate-limited."""
        self._flooding[conversation_id] = None

    @property
    def pending(self) -> bool:
        """Whether anything was heard since the last round."""
        return bool(self._changed or self._flooding)

    def announce(self) -> Round | None:
        """Take the changes heard since the last round; None when they change nothing.

        A summary no newer than the one announced (a late or repeated message) is dropped.
        """
        summaries, deltas = [], []
        for conversation_id, new in self._changed.items():
            old = self._open.get(conversation_id)
            item = None if self._stale(new) else delta(old, new)
            if item is None:
                continue
            if new["state"] == ConversationState.OPEN:
                self._open[conversation_id] = new
            else:
                self._open.pop(conversation_id, None)
                self._remember_end(conversation_id, new["last_seq"])
            summaries.append(dict(new))
            deltas.append(item)
        flooding = list(self._flooding)
        self._changed.clear()
        self._flooding.clear()
        return Round(summaries, deltas, flooding) if summaries or flooding else None

    def _stale(self, summary: Summary) -> bool:
        """Whether a summary is no newer than what was announced of its conversation."""
        held = self._open.get(summary["id"])
        last_seq = held["last_seq"] if held else self._ended.get(summary["id"])
        return last_seq is not None and summary["last_seq"] <= last_seq

    def _remember_end(self, conversation_id: str, last_seq: int) -> None:
        self._ended.pop(conversation_id, None)
        self._ended[conversation_id] = last_seq
        if len(self._ended) > self._remember_ended:
            del self._ended[next(iter(self._ended))]

    def snapshot(self) -> list[dict[str, Any]]:
        """The open conversations as announced, in the agents' order (:func:`waiting_first`)."""
        return waiting_first([dict(s) for s in self._open.values()])
