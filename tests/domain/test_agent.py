"""Staff names: the limit every way of adding staff goes through."""

from __future__ import annotations

import pytest

from parley.domain.agent import MAX_NAME_CHARS, staff_name
from parley.errors import StaffNameTooLong


def test_a_name_of_64_characters_is_a_staff_name() -> None:
    assert MAX_NAME_CHARS == 64
    assert staff_name("🙂" * 64) == "🙂" * 64


def test_a_longer_name_is_refused_with_its_length() -> None:
    with pytest.raises(StaffNameTooLong, match="at most 64 characters; this one has 65"):
        staff_name("x" * 65)
