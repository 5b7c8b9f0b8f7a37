"""The canned replies of ``parley.store.base.Store``, run against every backend.

A backend's test module mixes :class:`CannedContract` into its store contract
class (the same ``store`` and ``reopen`` fixtures).
"""

from __future__ import annotations

import pytest
from contract import Reopen

from parley.domain.canned import CannedReply
from parley.errors import ShortcutTaken
from parley.store.base import Store

AT = "2026-11-01T12:00:00.000Z"


def reply(n: int, shortcut: str, text: str = "Hello!") -> CannedReply:
    return CannedReply(f"k_{n}", shortcut, text, AT)


class CannedContract:
    async def test_canned_replies_are_added_listed_by_shortcut_changed_and_deleted(
        self, store: Store
    ) -> None:
        assert await store.canned_replies() == []
        await store.add_canned_reply(reply(1, "thanks", "Thank you for waiting."))
        await store.add_canned_reply(reply(2, "hello", "Hello! How can I help?"))
        assert [r.shortcut for r in await store.canned_replies()] == ["hello", "thanks"]
        changed = reply(1, "ty", "Thanks — one moment.")
        assert await store.change_canned_reply(changed) == changed
        assert await store.canned_replies() == [reply(2, "hello", "Hello! How can I help?"),
                                                changed]  # fmt: skip
        await store.add_canned_reply(reply(3, "thanks", "The old shortcut is free again."))
        assert await store.delete_canned_reply("k_2") == reply(2, "hello", "Hello! How can I help?")
        assert await store.delete_canned_reply("k_2") is None, "deleting twice changes nothing"
        assert [r.shortcut for r in await store.canned_replies()] == ["thanks", "ty"]
        assert await store.change_canned_reply(reply(9, "nobody")) is None
        assert [r.id for r in await store.canned_replies()] == ["k_3", "k_1"]

    async def test_a_canned_shortcut_in_use_is_refused_and_nothing_changes(
        self, store: Store
    ) -> None:
        await store.add_canned_reply(reply(1, "hello"))
        await store.add_canned_reply(reply(2, "bye", "Goodbye!"))
        before = await store.canned_replies()
        with pytest.raises(ShortcutTaken):
            await store.add_canned_reply(reply(3, "hello", "A second hello"))
        with pytest.raises(ShortcutTaken):
            await store.change_canned_reply(reply(2, "hello", "Goodbye!"))
        assert await store.canned_replies() == before
        kept = reply(1, "hello", "Same shortcut, new text")
        assert await store.change_canned_reply(kept) == kept, "a reply keeps its own shortcut"

    async def test_canned_replies_are_shared_by_every_process_and_survive_a_reopen(
        self, store: Store, reopen: Reopen
    ) -> None:
        await store.add_canned_reply(reply(1, "hello"))
        other = await reopen()
        try:
            assert await other.canned_replies() == [reply(1, "hello")]
            with pytest.raises(ShortcutTaken):
                await other.add_canned_reply(reply(2, "hello"))
            await other.delete_canned_reply("k_1")
            assert await store.canned_replies() == []
        finally:
            await other.close()
