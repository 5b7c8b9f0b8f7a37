"""Canonical JSON is RFC 8785 (JCS): the RFC's own examples, and where JCS refuses a value."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
import rfc8785

from parley.domain.chain import canonical_json

#: RFC 8785 section 3.2.2: the example of how each kind of value is written.
SECTION_3_2_2 = {
    "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
    "literals": [None, True, False],
}
SECTION_3_2_2_CANONICAL = (
    '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
    '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
)
#: RFC 8785 section 3.2.3: keys are sorted by their UTF-16 code units (the emoji, a
#: surrogate pair, sorts before U+FB33, though its code point is greater).
SECTION_3_2_3 = {
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\U0001f600": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis",
}
SECTION_3_2_3_ORDER = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]
#: RFC 8785 appendix B: IEEE 754 doubles (as hex) and how JCS writes them.
APPENDIX_B = {
    "0000000000000000": "0",
    "8000000000000000": "0",
    "0000000000000001": "5e-324",
    "8000000000000001": "-5e-324",
    "7fefffffffffffff": "1.7976931348623157e+308",
    "ffefffffffffffff": "-1.7976931348623157e+308",
    "4340000000000000": "9007199254740992",
    "c340000000000000": "-9007199254740992",
    "4430000000000000": "295147905179352830000",
    "44b52d02c7e14af5": "9.999999999999997e+22",
    "44b52d02c7e14af6": "1e+23",
    "44b52d02c7e14af7": "1.0000000000000001e+23",
    "444b1ae4d6e2ef4e": "999999999999999700000",
    "444b1ae4d6e2ef4f": "999999999999999900000",
    "444b1ae4d6e2ef50": "1e+21",
    "3eb0c6f7a0b5ed8c": "9.999999999999997e-7",
    "3eb0c6f7a0b5ed8d": "0.000001",
    "41b3de4355555553": "333333333.3333332",
    "41b3de4355555554": "333333333.33333325",
    "41b3de4355555555": "333333333.3333333",
    "41b3de4355555556": "333333333.3333334",
    "41b3de4355555557": "333333333.33333343",
    "becbf647612f3696": "-0.0000033333333333333333",
    "43143ff3c1cb0959": "1424953923781206.2",
}


def test_the_rfc_example_of_each_kind_of_value() -> None:
    assert canonical_json(SECTION_3_2_2) == SECTION_3_2_2_CANONICAL.encode()


def test_keys_are_sorted_by_utf16_code_units() -> None:
    expected = {key: SECTION_3_2_3[key] for key in SECTION_3_2_3_ORDER}
    assert (
        canonical_json(SECTION_3_2_3)
        == json.dumps(expected, separators=(",", ":"), ensure_ascii=False).encode()
    )


@pytest.mark.parametrize("bits", APPENDIX_B)
def test_numbers_are_written_as_the_rfc_appendix_says(bits: str) -> None:
    (number,) = struct.unpack(">d", bytes.fromhex(bits))
    assert canonical_json(number) == APPENDIX_B[bits].encode()


def test_parleys_values_are_written_as_json_dumps_wrote_them() -> None:
    """Rule: the digests of records made before RFC 8785 came from a library stay the same.
    Strings (controls, quotes, non-ASCII), integers up to 2**53 - 1, booleans, null, arrays
    and ASCII keys are written byte for byte as the former ``json.dumps`` call wrote them."""
    value = {"z": [1, -(2**53 - 1), 2**53 - 1, True, None], "text": "a\"\\\x00\x1f\x7f é — 日本 😀",
             "A": {"b": "", "a": []}, "seq": 0}  # fmt: skip
    former = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_json(value) == former.encode()


@pytest.mark.parametrize(
    "value", [2**53, -(2**53), float("nan"), float("inf"), {1: "x"}, "\ud800", object()]
)
def test_what_jcs_cannot_write_is_refused(value: Any) -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json(value)
