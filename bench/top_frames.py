"""The top frames of a ``py-spy record -f raw`` profile: self time and inclusive time.

Example:
    $ .venv/bin/python -m bench.top_frames get.txt --top 12
"""

from __future__ import annotations

import argparse
import collections
import re
from pathlib import Path

_LINE = re.compile(r":\d+\)$")
_PREFIX = re.compile(r"\(.*/(?:site-packages|src)/")


def frame_name(frame: str) -> str:
    """``function (/…/site-packages/pkg/module.py:12)`` -> ``function (pkg/module.py)``."""
    return _PREFIX.sub("(", _LINE.sub(")", frame.strip()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--within", default="", help="only stacks through this frame text")
    args = parser.parse_args()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in args.profile.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit() or args.within not in stack:
            continue
        if "_find_and_load" in stack:  # imports: start-up, not the hot path
            continue
        samples = int(count)
        frames = [frame_name(f) for f in stack.split(";")]
        frames = [f for f in frames if not f.startswith("process ")]
        total += samples
        if frames:
            own[frames[-1]] += samples
        for name in set(frames):
            inclusive[name] += samples
    print(f"{total} samples")
    print("self:")
    for name, n in own.most_common(args.top):
        print(f"  {100 * n / total:5.1f}%  {name}")
    print("inclusive (orbit frames):")
    orbit = [(k, v) for k, v in inclusive.most_common() if "(orbit/" in k]
    for name, n in orbit[: args.top]:
        print(f"  {100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
