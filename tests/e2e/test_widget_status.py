"""GET /api/widget/status: whether the visitor socket takes a page's Origin, readable by any page,
and never a fault whatever the Origin says."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from harness import Server

SHOP = "https://shop.example"


@pytest.fixture(scope="module")
def shop_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose visitor socket takes pages of https://shop.example only."""
    s = Server(tmp_path_factory.mktemp("shop-only"), PARLEY_ALLOWED_ORIGINS=SHOP).start()
    yield s
    s.stop()


def status(server: Server, origin: str | None) -> httpx.Response:
    headers = {"Origin": origin} if origin is not None else {}
    return httpx.get(f"{server.http}/api/widget/status", headers=headers)


async def socket_opens(server: Server, origin: str) -> bool:
    try:
        async with connect(f"{server.ws}/ws/visitor", origin=origin):  # type: ignore[arg-type]
            return True
    except InvalidStatus:
        return False


@pytest.mark.parametrize(
    ("origin", "allowed"), [(SHOP, True), (SHOP + "/", True), ("https://evil.example", False)]
)
async def test_the_answer_is_what_the_socket_does(
    shop_only: Server, origin: str, allowed: bool
) -> None:
    server = shop_only
    response = status(server, origin)
    assert response.status_code == 200
    assert response.json() == {"allowed": allowed}
    assert await socket_opens(server, origin) is allowed


def test_any_page_may_read_the_answer(shop_only: Server) -> None:
    """A page the server refuses must still learn that it is refused: CORS for every origin."""
    response = status(shop_only, "https://evil.example")
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["vary"] == "Origin"


def test_without_an_origin_it_is_allowed_like_the_socket(shop_only: Server) -> None:
    assert status(shop_only, None).json() == {"allowed": True}


def test_the_default_allows_the_servers_own_origin(server: Server) -> None:
    assert status(server, server.http).json() == {"allowed": True}
    assert status(server, "https://shop.example").json() == {"allowed": False}


HOSTILE_ORIGINS = [
    "null",
    "",
    "*",
    "https://shop.example.evil.example",
    "https://SHOP.example",
    "https://shop.example:443",
    "https://shop.example, https://evil.example",
    "https://shop.example/" + "/" * 5000,
    "x" * 8000,
    "javascript:alert(1)",
    "https://ünïcode.example",
]


@pytest.mark.parametrize("origin", HOSTILE_ORIGINS)
def test_a_hostile_origin_is_answered_not_a_fault(shop_only: Server, origin: str) -> None:
    """Whatever the header holds: a 200 with a boolean, never a 500, and only the listed origin."""
    headers = [(b"origin", origin.encode("utf-8"))]
    response = httpx.get(f"{shop_only.http}/api/widget/status", headers=headers)
    assert response.status_code == 200
    stripped = origin.rstrip("/")
    assert response.json() == {"allowed": stripped == SHOP}


def test_an_unknown_parameter_is_a_typed_400(shop_only: Server) -> None:
    response = httpx.get(f"{shop_only.http}/api/widget/status?origin={SHOP}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"
