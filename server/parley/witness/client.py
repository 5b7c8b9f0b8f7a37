"""The log's side of c2sp.org/tlog-witness: submit a checkpoint, get cosignatures back."""

from __future__ import annotations

import base64

import httpx

from parley.domain import note

#: The most consistency-proof lines the protocol allows in one request.
MAX_PROOF_LINES = 63


class WitnessError(Exception):
    """A witness did not cosign."""


class WitnessConflict(WitnessError):
    """409 with a size: the witness last cosigned a checkpoint of ``size`` leaves, not ours."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the witness last cosigned a tree of {size} leaves")
        self.size = size


class WitnessRefused(WitnessError):
    """The witness answered with an error status: a bad proof, an unknown log, a fork."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class WitnessUnavailable(WitnessError):
    """The witness could not be reached, or did not answer in time."""


def request_body(old_size: int, proof: list[bytes], signed_note: str) -> bytes:
    if len(proof) > MAX_PROOF_LINES:
        raise ValueError(f"a consistency proof has at most {MAX_PROOF_LINES} hashes")
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof), ""]
    return ("\n".join(lines) + "\n" + signed_note).encode()


async def add_checkpoint(
    http: httpx.AsyncClient, url: str, old_size: int, proof: list[bytes], signed_note: str
) -> list[note.Signature]:
    """POST ``signed_note`` to the witness at ``url``; its cosignature lines, parsed."""
    try:
        response = await http.post(
            url.rstrip("/") + "/add-checkpoint", content=request_body(old_size, proof, signed_note)
        )
    except httpx.HTTPError as e:
        raise WitnessUnavailable(f"{url}: {type(e).__name__}: {e}") from None
    text = response.text
    if response.status_code == 409 and response.headers.get("content-type", "").startswith(
        "text/x.tlog.size"
    ):
        try:
            raise WitnessConflict(int(text.strip()))
        except ValueError:
            raise WitnessRefused(409, text[:200]) from None
    if response.status_code != 200:
        raise WitnessRefused(response.status_code, text[:200].strip())
    try:
        return [note.Signature.parse_line(line) for line in text.splitlines(keepends=True)]
    except note.NoteMalformed as e:
        raise WitnessRefused(200, f"the answer is not signature lines: {e}") from None
