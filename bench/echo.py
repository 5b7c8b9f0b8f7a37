"""The baseline: a bare ``websockets`` echo server, configured like Parley's WebSocket layer.

Same event loop (uvloop), same keepalive (a ping every 20 s), same frame limit,
no compression unless ``--compression`` is given. Whatever the load generator
gets from this server is the practical ceiling for Python on the machine.

    python bench/echo.py --port 9000 [--compression]
"""

from __future__ import annotations

import argparse

import uvloop
from websockets.asyncio.server import ServerConnection, serve


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


async def main(port: int, compression: bool) -> None:
    async with serve(
        echo,
        "127.0.0.1",
        port,
        ping_interval=20,
        ping_timeout=20,
        max_size=65536,
        compression="deflate" if compression else None,
    ) as server:
        print(f"echo on ws://127.0.0.1:{port}", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--compression", action="store_true", help="permessage-deflate on")
    args = parser.parse_args()
    uvloop.run(main(args.port, args.compression))
