"""Hostile ``POST /add-checkpoint`` bodies: never a 5xx, never a checkpoint the log did not sign.

Two kinds of body: garbage (random bytes, random text, text built from the
request's own vocabulary), and a valid request for the next checkpoint with one
mutation — a line dropped, doubled, swapped or replaced by a nasty one (sizes past
64 bits, non-ASCII digits, a bare em dash, control characters), or bytes flipped,
cut or inserted anywhere. The rules, from docs/witness.md:

* the answer is one of the documented statuses, with a ``text/plain`` sentence or,
  for a size conflict, ``text/x.tlog.size``, and nothing of the witness's insides;
* what the witness stores is only ever a checkpoint the honest log signed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzzing import fuzz_settings
from harness import LEAKS, REPO, SENT
from parley.domain import note
from tlog import ORIGIN, TinyLog, WitnessProcess

pytestmark = pytest.mark.fuzz


def documented_statuses() -> set[int]:
    """200 and every refusal status of the table in docs/witness.md."""
    text = (REPO / "docs" / "witness.md").read_text(encoding="utf-8")
    statuses = {int(s) for s in re.findall(r"^\| (\d{3}) \| ", text, re.MULTILINE)}
    assert {403, 409, 422} <= statuses, "the refusal table of docs/witness.md was not found"
    return {200, *statuses}


STATUSES = documented_statuses()
OLD = 5
NEW = 9

NASTY_LINES = [
    "",
    "old",
    "old ",
    "old 18446744073709551616",
    "old 99999999999999999999999",
    "old 9223372036854775808",
    "old \u0665",
    "old 5\r",
    "\u2014",
    "\u2014 ",
    f"\u2014 {ORIGIN}",
    f"\u2014 {ORIGIN} AAAA",
    "\u2014 x " + "A" * 4000,
    ORIGIN,
    "18446744073709551615",
    "-0",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "A" * 44,
    "\x00",
    "\ud800".encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
    "\u202e\u2066",
    "\x7f",
]


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TinyLog, WitnessProcess]]:
    log = TinyLog().append(OLD)
    witness = WitnessProcess(tmp_path_factory.mktemp("fuzzed-witness"), log.vkey).start()
    assert httpx.post(f"{witness.url}/add-checkpoint", content=log.request(0)).status_code == 200
    log.append(NEW - OLD)
    yield log, witness
    witness.stop()


@st.composite
def mutated(draw: st.DrawFn, valid: bytes) -> bytes:
    if draw(st.booleans()):
        lines = valid.decode().split("\n")
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["drop", "double", "swap", "replace", "edit"]))
        if how == "drop":
            del lines[i]
        elif how == "double":
            lines.insert(i, lines[i])
        elif how == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif how == "replace":
            lines[i] = draw(st.sampled_from(NASTY_LINES) | st.text(max_size=60))
        else:
            k = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:k] + draw(st.text(min_size=1, max_size=3)) + lines[i][k + 1 :]
        return "\n".join(lines).encode("utf-8", "surrogatepass")
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["flip", "cut", "insert"]))
        if how == "flip" and at < len(data):
            data[at] ^= draw(st.integers(1, 255))
        elif how == "cut":
            del data[at : at + draw(st.integers(1, 80))]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def vocabulary() -> st.SearchStrategy[bytes]:
    words = st.sampled_from(["old ", "0", "5", "\n", "\n\n", "\u2014 ", ORIGIN, "AAAA", "=", " "])
    return st.lists(words | st.text(max_size=5), max_size=40).map(
        lambda parts: "".join(parts).encode("utf-8", "surrogatepass")
    )


def check(honest: tuple[TinyLog, WitnessProcess], body: bytes) -> None:
    log, witness = honest
    response = httpx.post(f"{witness.url}/add-checkpoint", content=body, timeout=30)
    SENT["witness requests"] += 1
    assert response.status_code in STATUSES, (response.status_code, response.text, body)
    media_type = response.headers["content-type"]
    if response.status_code == 409 and media_type == "text/x.tlog.size":
        assert response.text in (f"{OLD}\n", f"{NEW}\n")
    else:
        assert media_type == "text/plain; charset=utf-8"
        assert response.text.endswith("\n") and not LEAKS.search(response.text)
    stored = httpx.get(f"{witness.url}/checkpoint/{ORIGIN}", timeout=30)
    assert note.parse(stored.text).text in (log.text(OLD), log.text(NEW))


@fuzz_settings(60)
@given(body=st.binary(max_size=3000) | vocabulary() | st.text().map(str.encode))
def test_garbage_is_refused_cleanly(honest: tuple[TinyLog, WitnessProcess], body: bytes) -> None:
    check(honest, body)


@fuzz_settings(120)
@given(data=st.data())
def test_a_mutated_valid_request_is_refused_cleanly_or_is_still_valid(
    honest: tuple[TinyLog, WitnessProcess], data: st.DataObject
) -> None:
    log, _ = honest
    check(honest, data.draw(mutated(log.request(OLD))))
