"""Query values: whole numbers and times are read strictly, and refused with a typed error."""

from __future__ import annotations

import json

import pytest

from harness import POLICIES
from parley.errors import BadRequest
from parley.web.params import MAX_VERSION, rfc3339, whole


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("2026-11-01T00:00:00Z", "2026-11-01T00:00:00.000Z"),
        ("2026-11-01t01:30:00+01:30", "2026-11-01T00:00:00.000Z"),
        ("2026-11-01 00:00:00.123456789z", "2026-11-01T00:00:00.123Z"),
        ("2026-11-01T00:00:00.9999-00:00", "2026-11-01T00:00:00.999Z"),
        ("0999-12-31T23:00:00-01:00", "1000-01-01T00:00:00.000Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
    ],
)
def test_rfc3339_times_are_read_in_the_stored_form(raw: str, stored: str) -> None:
    """The stored form has four digits of year, so times before 1000 still sort first."""
    assert rfc3339("since", raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "2026-11-01",
        "2026-11-01T00:00Z",
        "20261101T000000Z",
        "2026-11-01T00:00:00+0100",
        "2026-11-01T00:00:00Z ",
        "\uff12\uff10\uff12\uff16-11-01T00:00:00Z",  # fullwidth digits
        "2026-11-01T24:00:00Z",
        "2026-11-01T00:00:60Z",
        "0001-01-01T00:00:00+00:01",
        "9999-12-31T23:59:59-00:01",
    ],
)
def test_anything_else_is_a_bad_request_never_an_exception(raw: str) -> None:
    with pytest.raises(BadRequest, match=r"^since "):
        rfc3339("since", raw)


@pytest.mark.parametrize("raw", ["", "-1", "+1", "1.0", "1e3", "٣", "²", " 1", "0x10"])
def test_a_whole_number_is_ascii_digits(raw: str) -> None:
    with pytest.raises(BadRequest, match="is not a whole number"):
        whole("limit", raw, 1, 500)


@pytest.mark.parametrize("raw", ["0", "501", "0" * 5000 + "501", "9" * 100_000])
def test_a_whole_number_outside_its_range_is_refused_without_converting_it(raw: str) -> None:
    with pytest.raises(BadRequest, match=r"^limit must be between 1 and 500$"):
        whole("limit", raw, 1, 500)
    assert whole("limit", "0007", 1, 500) == 7


def test_the_highest_version_a_query_takes_is_the_highest_a_policy_file_may_have() -> None:
    schema = json.loads((POLICIES / "policy.schema.json").read_text(encoding="utf-8"))
    assert schema["properties"]["version"]["maximum"] == MAX_VERSION
