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

Legal holds: the list knows the active holds (:meth:`ConversationList.hold_changed`)
and marks a summary ``"held": true`` while one covers the conversation or its
visitor. A hold placed or lifted re-announces the open conversations it covers
(``{"id": ..., "held": true | false}`` as a delta); a summary never held has no
``held`` field.
"""

from __future__ import annotations

from collections import Counter
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
        self._holds: dict[str, tuple[str, str]] = {}  # active hold id -> (scope, target)
        self._held = Counter[tuple[str, str]]()  # (scope, target) -> active holds on it
        self._lifted: set[str] = set()  # holds heard lifted: a load read earlier keeps them out
        self._reheld: dict[str, None] = {}  # open ones whose held flag must be announced

    def load(self, summaries: Iterable[Summary]) -> None:
        """Take the store's open conversations as announced (before any console is told).

        A summary no newer than one already held or announced (by ``last_seq``) is ignored.
        """
        for summary in summaries:
            if not self._stale(summary):
                self._open[summary["id"]] = self._marked(summary, None)

    def change(self, summary: Summary) -> None:
        """Note a conversation's summary after a committed action; keep the newest heard."""
        heard = self._changed.get(summary["id"])
        if heard is None or summary["last_seq"] > heard["last_seq"]:
            self._changed[summary["id"]] = summary

    def load_holds(self, holds: Iterable[Summary]) -> None:
        """Take the store's active holds (records as :meth:`hold_changed` takes them)."""
        for hold in holds:
            self._note(hold)
        self._recheck()

    def hold_changed(self, hold: Summary) -> None:
        """Note a legal hold placed or lifted (its record: ``id``, ``scope``, ``target``,
        ``lifted_at``); the open conversations whose ``held`` it changes are announced."""
        self._note(hold)
        self._recheck()

    def _note(self, hold: Summary) -> None:
        if hold["lifted_at"] is None and hold["id"] not in self._lifted:
            if hold["id"] not in self._holds:
                self._holds[hold["id"]] = (hold["scope"], hold["target"])
                self._held[(hold["scope"], hold["target"])] += 1
            return
        self._lifted.add(hold["id"])
        covered = self._holds.pop(hold["id"], None)
        if covered is not None:
            self._held[covered] -= 1
            if not self._held[covered]:
                del self._held[covered]

    def _recheck(self) -> None:
        for conversation_id, summary in self._open.items():
            if summary.get("held", False) != self.held(summary):
                self._reheld[conversation_id] = None

    def held(self, summary: Summary) -> bool:
        """Whether an active hold covers this conversation (by its id or its visitor's)."""
        on_visitor = ("visitor", summary["visitor_id"])
        return ("conversation", summary["id"]) in self._held or on_visitor in self._held

    def _marked(self, summary: Summary, before: Summary | None) -> Summary:
        """``summary`` with its ``held`` flag: true while held, false once it was, else none."""
        if self.held(summary):
            return {**summary, "held": True}
        if before is not None and "held" in before:
            return {**summary, "held": False}
        return summary

    def flag(self, conversation_id: str) -> None:
        """Note that a conversation's visitor is being rate-limited."""
        self._flooding[conversation_id] = None

    @property
    def pending(self) -> bool:
        """Whether anything was heard since the last round."""
        return bool(self._changed or self._flooding or self._reheld)

    def announce(self) -> Round | None:
        """Take the changes heard since the last round; None when they change nothing.

        A summary no newer than the one announced (a late or repeated message) is dropped.
        """
        summaries, deltas = [], []
        for conversation_id, heard in self._changed.items():
            old = self._open.get(conversation_id)
            new = self._marked(heard, old)
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
        for conversation_id in self._reheld:
            old = self._open.get(conversation_id)
            if old is None:
                continue  # it ended meanwhile
            new = self._marked(old, old)
            item = delta(old, new)
            if item is not None:
                self._open[conversation_id] = new
                summaries.append(dict(new))
                deltas.append(item)
        self._reheld.clear()
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

    def counts(self) -> dict[str, int]:
        """The open conversations as announced: all of them, those whose visitor waits for an
        answer (``waiting_since`` set), and those no agent was assigned (in the queue)."""
        summaries = self._open.values()
        return {
            "open": len(summaries),
            "waiting": sum(1 for s in summaries if s.get("waiting_since")),
            "unassigned": sum(1 for s in summaries if s.get("assignee") is None),
        }

    def snapshot(self) -> list[dict[str, Any]]:
        """The open conversations as announced, in the agents' order (:func:`waiting_first`)."""
        return waiting_first([dict(s) for s in self._open.values()])
