"""``parley witness serve`` against c2sp.org/tlog-witness, status code by status code.

Every test talks HTTP to a real witness process following a log of its own; the
log signs real checkpoints and computes real RFC 9162 consistency proofs.
"""

from __future__ import annotations

import asyncio
import base64

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from parley.domain import note
from parley.domain.note import CheckpointBody
from tlog import ORIGIN, TinyLog, WitnessProcess

SIZE_TYPE = "text/x.tlog.size"


def post(witness: WitnessProcess, body: bytes) -> httpx.Response:
    return httpx.post(f"{witness.url}/add-checkpoint", content=body, timeout=30)


def cosigned(witness: WitnessProcess) -> httpx.Response:
    return httpx.get(f"{witness.url}/checkpoint/{ORIGIN}", timeout=30)


def forks(witness: WitnessProcess) -> list[dict[str, object]]:
    response = httpx.get(f"{witness.url}/forks", timeout=30)
    assert response.status_code == 200
    found: list[dict[str, object]] = response.json()["forks"]
    return found


def test_a_first_checkpoint_is_cosigned_and_the_cosignature_verifies(
    log: TinyLog, witness: WitnessProcess
) -> None:
    response = post(witness, log.request(0))
    assert response.status_code == 200, response.text
    lines = response.text.splitlines(keepends=True)
    assert len(lines) == 1 and lines[0].startswith(f"— {witness.name} ")
    signature = note.Signature.parse_line(lines[0])
    [verified] = note.verify(note.Note(log.text(), (signature,)), [witness.vkey])
    assert verified.key.sig_type == note.COSIGNATURE_V1 and verified.timestamp

    stored = cosigned(witness)
    assert stored.status_code == 200 and stored.headers["content-type"].startswith("text/plain")
    kept = note.parse(stored.text)
    assert kept.text == log.text()
    assert len(note.verify(kept, [log.vkey, witness.vkey])) == 2


def test_growth_with_a_real_consistency_proof_is_cosigned_and_resending_is_too(
    log: TinyLog, witness: WitnessProcess
) -> None:
    assert post(witness, log.request(0)).status_code == 200
    for grow in (1, 4, 17):
        old = len(log.leaves)
        log.append(grow)
        response = post(witness, log.request(old))
        assert response.status_code == 200, response.text
    again = post(witness, log.request(len(log.leaves)))
    assert again.status_code == 200, again.text
    assert CheckpointBody.parse(note.parse(cosigned(witness).text).text).size == 27


def test_a_log_the_witness_does_not_follow_is_404(witness: WitnessProcess) -> None:
    stranger = TinyLog("other.example/log").append(3)
    response = post(witness, stranger.request(0))
    assert response.status_code == 404
    assert "does not follow the log 'other.example/log'" in response.text


def test_a_checkpoint_no_trusted_key_signed_is_403(log: TinyLog, witness: WitnessProcess) -> None:
    impostor = TinyLog(ORIGIN, Ed25519PrivateKey.generate())
    impostor.leaves = list(log.leaves)
    response = post(witness, impostor.request(0))
    assert response.status_code == 403
    assert f"no signature by {ORIGIN}" in response.text

    [good] = note.parse(log.checkpoint()).signatures
    forged = note.Signature(good.name, good.key_id, bytes(64))
    body = f"old 0\n\n{note.Note(log.text(), (forged,)).render()}".encode()
    response = post(witness, body)
    assert response.status_code == 403 and "is not valid" in response.text
    assert cosigned(witness).status_code == 404


def test_unknown_signatures_beside_the_logs_own_are_ignored(
    log: TinyLog, witness: WitnessProcess
) -> None:
    stranger = note.sign(log.text(), "someone.else", Ed25519PrivateKey.generate())
    signed = note.parse(log.checkpoint()).with_signatures([stranger])
    response = post(witness, f"old 0\n\n{signed.render()}".encode())
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"", "an 'old N' line"),
        (b"old 0\n", "an 'old N' line"),
        (b"old 00\n\n", "no leading zeroes"),
        (b"old -1\n\n", "no leading zeroes"),
        (b"old  1\n\n", "no leading zeroes"),
        (b"Old 1\n\n", "no leading zeroes"),
        (b"old 1\nnot base64!\n\n", "one base64 hash"),
        (b"old 1\nAAAA\n\n", "32-byte hash"),
        (b"old 1\n" + b"A" * 43 + b"=\n" * 64 + b"\n", "at most 63 proof lines"),
        (b"old 0\n\nnot a note\n", "the checkpoint"),
        (b"old 0\n\x80\n\n", "UTF-8"),
    ],
)
def test_a_body_that_is_not_a_request_is_400_and_says_why(
    witness: WitnessProcess, body: bytes, says: str
) -> None:
    response = post(witness, body)
    assert response.status_code == 400
    assert says in response.text


def test_an_old_size_above_the_checkpoint_is_400(log: TinyLog, witness: WitnessProcess) -> None:
    response = post(witness, log.request(6, proof=[]))
    assert response.status_code == 400 and "above the checkpoint's" in response.text


def test_a_size_too_large_to_record_is_400(log: TinyLog, witness: WitnessProcess) -> None:
    text = CheckpointBody(ORIGIN, 1 << 63, log.root()).text()
    signed = note.Note(text, (note.sign(text, ORIGIN, log.key),)).render()
    response = post(witness, f"old 0\n\n{signed}".encode())
    assert response.status_code == 400 and "tree sizes up to" in response.text


def test_an_old_size_other_than_the_last_cosigned_is_409_with_that_size(
    log: TinyLog, witness: WitnessProcess
) -> None:
    response = post(witness, log.request(3))
    assert response.status_code == 409
    assert response.headers["content-type"] == SIZE_TYPE and response.text == "0\n"
    assert post(witness, log.request(0)).status_code == 200
    log.append(4)
    for old in (0, 3, 6):
        response = post(witness, log.request(old))
        assert response.status_code == 409
        assert response.headers["content-type"] == SIZE_TYPE and response.text == "5\n"
    assert forks(witness) == []


def test_the_same_size_with_another_root_is_409_and_kept_as_a_fork(
    log: TinyLog, witness: WitnessProcess
) -> None:
    assert post(witness, log.request(0)).status_code == 200
    honest = cosigned(witness).text
    log.fork(2)
    response = post(witness, log.request(5))
    assert response.status_code == 409
    assert not response.headers["content-type"].startswith(SIZE_TYPE)
    assert "cosigned size 5" in response.text
    assert cosigned(witness).text == honest
    [fork] = forks(witness)
    assert fork["status"] == 409 and fork["origin"] == ORIGIN and fork["old_size"] == 5
    assert fork["submitted"] == log.checkpoint() and fork["cosigned"] == honest
    post(witness, log.request(5))
    assert len(forks(witness)) == 1, "the same evidence is kept once"


def test_a_larger_checkpoint_whose_proof_fails_is_422_and_kept_as_a_fork(
    log: TinyLog, witness: WitnessProcess
) -> None:
    assert post(witness, log.request(0)).status_code == 200
    honest = cosigned(witness).text
    log.fork(1)
    log.append(6)
    response = post(witness, log.request(5))
    assert response.status_code == 422
    old_root = base64.b64encode(TinyLog().append(5).root()).decode()
    assert "does not verify" in response.text and old_root in response.text
    assert cosigned(witness).text == honest
    [fork] = forks(witness)
    assert fork["status"] == 422 and fork["proof"] == [
        base64.b64encode(h).decode() for h in log.proof(5)
    ]


def test_a_proof_from_size_zero_or_between_equal_sizes_must_be_empty(
    log: TinyLog, witness: WitnessProcess
) -> None:
    response = post(witness, log.request(0, proof=[bytes(32)]))
    assert response.status_code == 422
    assert post(witness, log.request(0)).status_code == 200
    response = post(witness, log.request(5, proof=[bytes(32)]))
    assert response.status_code == 422 and "between equal sizes is empty" in response.text


def test_a_body_over_64_kib_is_413_unread(witness: WitnessProcess) -> None:
    response = post(witness, b"old 0\n" + b"A" * 70_000)
    assert response.status_code == 413

    def chunks() -> object:
        yield b"old 0\n"
        for _ in range(20):
            yield b"A" * 4096

    streamed = httpx.post(f"{witness.url}/add-checkpoint", content=chunks(), timeout=30)
    assert streamed.status_code == 413


def test_reads_for_monitors_and_wrong_methods(log: TinyLog, witness: WitnessProcess) -> None:
    assert cosigned(witness).status_code == 404
    assert httpx.get(f"{witness.url}/add-checkpoint").status_code == 405
    assert httpx.get(f"{witness.url}/checkpoint/no.such/log").status_code == 404


def test_a_restarted_witness_keeps_what_it_cosigned_and_its_forks(
    log: TinyLog, witness: WitnessProcess
) -> None:
    assert post(witness, log.request(0)).status_code == 200
    before = cosigned(witness).text
    forked = TinyLog(ORIGIN, log.key).append(5, tag="other ")
    assert post(witness, forked.request(5)).status_code == 409
    witness.stop()
    witness.start()
    assert cosigned(witness).text == before
    assert len(forks(witness)) == 1
    response = post(witness, log.request(0))
    assert response.status_code == 409 and response.text == "5\n"


async def test_concurrent_submissions_cosign_one_consistent_sequence(
    log: TinyLog, witness: WitnessProcess
) -> None:
    """The spec's race: requests from the same old size race; exactly one may win, and the
    stored size never goes back, which a reader polling throughout checks."""
    log.append(55)
    sizes: list[int] = []
    done = asyncio.Event()
    async with httpx.AsyncClient(base_url=witness.url, timeout=60) as http:

        async def add(old: int, size: int) -> tuple[int, int, str]:
            r = await http.post("/add-checkpoint", content=log.request(old, size))
            return size, r.status_code, r.text

        async def watch() -> None:
            while not done.is_set():
                r = await http.get(f"/checkpoint/{ORIGIN}")
                if r.status_code == 200:
                    sizes.append(CheckpointBody.parse(note.parse(r.text).text).size)

        watcher = asyncio.create_task(watch())
        old = 0
        try:
            for targets in (range(1, 12), range(12, 30), range(30, 61)):
                results = await asyncio.gather(*(add(old, size) for size in targets))
                winners = [(size, text) for size, status, text in results if status == 200]
                assert len(winners) == 1, results
                [(won, text)] = winners
                losers = {(status, text) for size, status, text in results if size != won}
                assert losers == {(409, f"{won}\n")}
                signature = note.Signature.parse_line(text)
                note.verify(note.Note(log.text(won), (signature,)), [witness.vkey])
                old = won
        finally:
            done.set()
            await watcher
    assert sizes == sorted(sizes) and sizes, "the stored size went back"
    assert CheckpointBody.parse(note.parse(cosigned(witness).text).text).size == old
