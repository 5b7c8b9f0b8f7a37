"""A visitor's receipt against an evidence bundle: does the operator's record hold that event?"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from parley.domain import receipt
from parley.domain.transcript import Event, verify_chain


class UnreadableBundle(ValueError):
    """The bundle has no transcript that can be read as events."""


def against_bundle(signed: Mapping[str, Any], bundle: Any) -> list[str]:
    """Where ``bundle`` disagrees with the verified receipt body ``signed``; empty if it holds
    exactly that event in an unbroken chain. Raises UnreadableBundle for a malformed bundle."""
    try:
        conversation_id = bundle["conversation"]["id"]
        if not isinstance(conversation_id, str):
            raise TypeError("its conversation has no id")
        events = [Event.from_dict(e) for e in bundle["transcript"]]
        broken = verify_chain(events)
        if broken:
            return [f"the bundle's transcript is not an unbroken chain: {broken}"]
        return receipt.contradictions(signed, conversation_id, events)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as e:
        raise UnreadableBundle(f"the bundle's transcript cannot be read ({e!r})") from None
