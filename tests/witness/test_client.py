"""The log's side: ``add_checkpoint`` against a real witness, and each error it raises."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness import free_port
from parley.domain import note
from parley.witness.client import (
    WitnessBadAnswer,
    WitnessConflict,
    WitnessRefused,
    WitnessUnreachable,
    add_checkpoint,
)
from tlog import ORIGIN, Served, TinyLog, WitnessProcess


async def submit(url: str, log: TinyLog, old: int, proof: list[bytes] | None = None) -> object:
    async with httpx.AsyncClient(timeout=30) as http:
        return await add_checkpoint(
            http, url, old, log.proof(old) if proof is None else proof, log.checkpoint()
        )


async def test_cosignatures_come_back_parsed_and_verify(
    log: TinyLog, witness: WitnessProcess
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        signatures = await add_checkpoint(http, witness.url + "/", 0, [], log.checkpoint())
        log.append(7)
        grown = await add_checkpoint(http, witness.url, 5, log.proof(5), log.checkpoint())
    for sigs, size in ((signatures, 5), (grown, 12)):
        [verified] = note.verify(note.Note(log.text(size), tuple(sigs)), [witness.vkey])
        assert verified.key == witness.vkey


async def test_a_stale_old_size_raises_witness_conflict_with_the_witness_size(
    log: TinyLog, witness: WitnessProcess
) -> None:
    await submit(witness.url, log, 0)
    log.append(3)
    with pytest.raises(WitnessConflict) as caught:
        await submit(witness.url, log, 0, proof=[])
    assert caught.value.size == 5


@pytest.mark.parametrize(
    ("setup", "status", "says"),
    [
        ("stranger", 404, "does not follow"),
        ("impostor", 403, "no signature by"),
        ("fork-same-size", 409, "cosigned size 5"),
        ("fork-larger", 422, "does not verify"),
    ],
)
async def test_every_other_refusal_raises_witness_refused_with_status_and_message(
    log: TinyLog, witness: WitnessProcess, setup: str, status: int, says: str
) -> None:
    await submit(witness.url, log, 0)
    if setup == "stranger":
        offered, old = TinyLog("other.example/log").append(5), 0
    elif setup == "impostor":
        offered, old = TinyLog(ORIGIN).append(5), 5
    else:
        offered, old = log, 5
        log.fork(0)
        if setup == "fork-larger":
            log.append(2)
    with pytest.raises(WitnessRefused) as caught:
        await submit(witness.url, offered, old)
    assert caught.value.status == status and says in caught.value.message


async def test_no_listener_raises_witness_unreachable(log: TinyLog) -> None:
    with pytest.raises(WitnessUnreachable, match="ConnectError"):
        await submit(f"http://127.0.0.1:{free_port()}", log, 0)


@pytest.fixture
def silent() -> Iterator[str]:
    """A listener that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


async def test_a_witness_that_never_answers_raises_witness_unreachable(
    log: TinyLog, silent: str
) -> None:
    async with httpx.AsyncClient(timeout=0.5) as http:
        with pytest.raises(WitnessUnreachable, match="ReadTimeout"):
            await add_checkpoint(http, silent, 0, [], log.checkpoint())


@pytest.fixture
def liar() -> Iterator[Served]:
    """A server that answers add-checkpoint, under each prefix, with something no witness sends."""
    answers = {
        "/ok-garbage/add-checkpoint": Response("hello\n", 200),
        "/ok-empty/add-checkpoint": Response("", 200),
        "/size-garbage/add-checkpoint": Response(
            "five\n", 409, headers={"content-type": "text/x.tlog.size"}
        ),
    }

    async def answer(request: Request) -> Response:
        return answers[request.url.path]

    served = Served(Starlette(routes=[Route(p, answer, methods=["POST"]) for p in answers])).start()
    yield served
    served.stop()


@pytest.mark.parametrize(
    ("prefix", "says"),
    [
        ("/ok-garbage", "not one"),
        ("/ok-empty", "no cosignature line"),
        ("/size-garbage", "decimal size"),
    ],
)
async def test_an_answer_outside_the_protocol_raises_witness_bad_answer(
    log: TinyLog, liar: Served, prefix: str, says: str
) -> None:
    with pytest.raises(WitnessBadAnswer, match=says):
        await submit(liar.url + prefix, log, 0)
