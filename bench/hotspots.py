"""Summarise a py-spy profile (``--format raw``, collapsed stacks): where the time goes.

    .venv/bin/python bench/hotspots.py PROFILE.txt [--top 25] [--grep parley]

Prints the functions with the most samples on top of the stack (self) and
anywhere on it (inclusive), as percentages of all samples.
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def frame_name(frame: str) -> str:
    m = FRAME.match(frame)
    if not m:
        return frame
    path = m["file"]
    short = path.split("site-packages/")[-1].split("/server/")[-1]
    return f"{m['func']} ({short})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--grep", help="only functions whose file or name contains this")
    args = parser.parse_args()

    own: collections.Counter[str] = collections.Counter()
    anywhere: collections.Counter[str] = collections.Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        frames = [frame_name(f) for f in stack.split(";") if f]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            anywhere[f] += n

    def show(title: str, counter: collections.Counter[str]) -> None:
        print(f"{title} ({total} samples)")
        shown = 0
        for name, n in counter.most_common():
            if args.grep and args.grep not in name:
                continue
            print(f"  {100 * n / total:5.1f}%  {name}")
            shown += 1
            if shown == args.top:
                break

    show("self", own)
    show("inclusive", anywhere)


if __name__ == "__main__":
    main()
