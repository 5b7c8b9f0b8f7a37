"""Bytes over the wire for the widget and the console: each file as identity, gzip and br on a
first load, and the 304 of a revalidation; and what compressing them costs at start-up.

A real server on a free loopback port; each response is counted as its status line, its
header lines and its body as sent (not decoded), which is what crosses the network before
TLS and HTTP/2 header compression. Prints a Markdown table (docs/widget.md).

    .venv/bin/python bench/wire_bytes.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent / "tests"))  # the tests' real parts: Server

from harness import REPO, Server  # noqa: E402
from parley.web import assets  # noqa: E402

WIDGET = REPO / "widget"
CONSOLE = {
    f"/console/{p.name}" if p.name != "index.html" else "/console/": p
    for p in sorted((WIDGET / "console").iterdir())
}
PATHS = {
    "/widget.js": WIDGET / "widget.js",
    "/": WIDGET / "demo.html",
    "/demo.css": WIDGET / "demo.css",
    **CONSOLE,
}
#: Rows of the table: one file, or the sum of a page's files (what its first load fetches).
ROWS = {
    "`/widget.js`": ["/widget.js"],
    "demo page (`/`, `/demo.css`)": ["/", "/demo.css"],
    "`/console/console.js`": ["/console/console.js"],
    f"console page (all {len(CONSOLE)} files)": list(CONSOLE),
}
CODINGS = ("identity", "gzip", "br")


def on_the_wire(http: httpx.Client, path: str, headers: dict[str, str]) -> tuple[int, str]:
    """The response's size as sent (status line, header lines, body) and its ETag."""
    with http.stream("GET", path, headers=headers) as r:
        body = sum(len(chunk) for chunk in r.iter_raw())
        head = len(f"HTTP/1.1 {r.status_code} {r.reason_phrase}\r\n\r\n")
        head += sum(len(k) + len(v) + 4 for k, v in r.headers.raw)
        return head + body, r.headers["etag"]


def main() -> None:
    sizes: dict[str, list[tuple[int, int]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        server = Server(Path(folder)).start()
        try:
            with httpx.Client(base_url=server.http) as http:
                for path in PATHS:
                    sizes[path] = []
                    for coding in CODINGS:
                        first, etag = on_the_wire(http, path, {"Accept-Encoding": coding})
                        again, _ = on_the_wire(
                            http, path, {"Accept-Encoding": coding, "If-None-Match": etag}
                        )
                        sizes[path].append((first, again))
        finally:
            server.stop()
    print("| what | file bytes | identity | gzip | br | revalidation (304s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, paths in ROWS.items():
        size = sum(PATHS[p].stat().st_size for p in paths)
        firsts = [sum(sizes[p][i][0] for p in paths) for i in range(len(CODINGS))]
        again = sum(sizes[p][-1][1] for p in paths)
        cells = " | ".join(f"{n:,}" for n in firsts)
        print(f"| {name} | {size:,} | {cells} | {again:,} |")
    started = time.process_time()
    for file in PATHS.values():
        assets.read_file(file)
    took = time.process_time() - started
    total = sum(f.stat().st_size for f in PATHS.values())
    print(f"\ncompressing all {len(PATHS)} files ({total:,} bytes): {took:.2f} s of CPU")


if __name__ == "__main__":
    main()
