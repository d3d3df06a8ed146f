"""The process tree, read from /proc: to prove that no worker outlives its coordinator."""

from __future__ import annotations

import os
from pathlib import Path


def _parents() -> dict[int, int]:
    out = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] == "Z":
            continue  # a zombie is dead; its parent just has not reaped it yet
        out[int(entry.name)] = int(fields[1])
    return out


def descendants(pid: int) -> set[int]:
    parents = _parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def alive(pids: set[int]) -> set[int]:
    parents = _parents()
    return {pid for pid in pids if pid in parents and pid != os.getpid()}
