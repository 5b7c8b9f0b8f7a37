"""What a log calls to have a witness cosign its checkpoint (c2sp.org/tlog-witness).

Errors, one tree::

    WitnessError
    ├── WitnessConflict      409 text/x.tlog.size: resend with ``old`` = ``size``
    ├── WitnessRefused       any other answer but 200 (``status``, the witness's ``message``)
    ├── WitnessUnreachable   no answer: connection refused or reset, timeout
    └── WitnessBadAnswer     a 200 or 409 whose body breaks the protocol

The client does not check the cosignatures it returns: like the spec's clients,
the caller appends them to its checkpoint and keeps those that ``note.verify``
accepts with the witness keys it trusts (a witness may send lines of keys the
caller does not know, which it must ignore).
"""

from __future__ import annotations

import base64
import re

import httpx

from parley.domain import note

SIZE_TYPE = "text/x.tlog.size"
#: The most of a refusal's body kept in its message.
MESSAGE_CHARS = 500


class WitnessError(Exception):
    """A witness did not cosign."""


class WitnessConflict(WitnessError):
    """The witness last cosigned ``size``, not the old size sent."""

    def __init__(self, size: int) -> None:
        super().__init__(f"the witness last cosigned size {size}")
        self.size = size


class WitnessRefused(WitnessError):
    """The witness answered ``status`` (not 200) with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"the witness refused with {status}: {message}")
        self.status = status
        self.message = message


class WitnessUnreachable(WitnessError):
    """No answer from the witness: it could not be reached, or did not answer in time."""


class WitnessBadAnswer(WitnessError):
    """An answer that is not what the protocol says a witness sends."""


def request_body(old_size: int, proof: list[bytes], signed_note: str) -> bytes:
    """The ``add-checkpoint`` body: ``old N``, one base64 line per proof hash, a blank line."""
    lines = [f"old {old_size}", *(base64.b64encode(h).decode() for h in proof)]
    return ("\n".join(lines) + "\n\n" + signed_note).encode()


async def add_checkpoint(
    http: httpx.AsyncClient, url: str, old_size: int, proof: list[bytes], signed_note: str
) -> list[note.Signature]:
    """Submit ``signed_note`` to the witness whose submission prefix is ``url``.

    ``old_size`` is the size the witness last cosigned for this log (0 at first),
    ``proof`` the consistency proof from that size to the checkpoint's. Returns the
    cosignature lines of the answer, parsed, in order. Raises a :class:`WitnessError`.
    """
    try:
        response = await http.post(
            url.rstrip("/") + "/add-checkpoint",
            content=request_body(old_size, proof, signed_note),
        )
    except httpx.TransportError as e:
        raise WitnessUnreachable(f"{type(e).__name__} from {url}: {e}") from e
    text = response.text
    if response.status_code == 200:
        try:
            signatures = [note.Signature.parse_line(s) for s in text.splitlines(keepends=True)]
        except note.NoteMalformed as e:
            raise WitnessBadAnswer(f"the witness's 200 holds a line that is not one: {e}") from e
        if not signatures:
            raise WitnessBadAnswer("the witness's 200 holds no cosignature line")
        return signatures
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if response.status_code == 409 and media_type == SIZE_TYPE:
        if not re.fullmatch(r"(0|[1-9][0-9]{0,19})\n", text):
            raise WitnessBadAnswer(f"a {SIZE_TYPE} body is a decimal size: {text[:80]!r}")
        raise WitnessConflict(int(text))
    raise WitnessRefused(response.status_code, text.strip()[:MESSAGE_CHARS])
