"""go.mod and go.sum of the Go runtime, cut from one resolution.

`go-lock.json` (next to this file) holds what `go mod tidy` wrote for each part of the Go app (base,
observability, each data service), every part resolved against the same module versions (the
catalog's `go_modules` pins, with everything they need resolved together); `scripts/go_lock.py`
writes it with the real toolchain and the Go module proxy. A project's go.mod and go.sum are the union
of its parts, in the order and layout `go mod tidy` writes: the build tier runs `go mod tidy -diff`
on the rendered apps and fails on any difference.

Pure: reads its data file once, no subprocess, no network.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCK_PATH = Path(__file__).with_name("go-lock.json")


@cache
def _lock() -> dict:
    return json.loads(LOCK_PATH.read_text())


def derive(parts: list[str]) -> dict:
    """{"go": directive, "require": [(path, version)], "indirect": [...], "tool": [...], "sum": [lines]}
    for base plus `parts` (data service keys, "observability"), each list in go's order."""
    lock = _lock()
    chosen = [lock["parts"][part] for part in ["base", *parts] if part in lock["parts"]]
    direct: dict[str, str] = {}
    indirect: dict[str, str] = {}
    sums: set[int] = set()  # indexes into the lock's one ordered list of go.sum lines
    for part in chosen:
        direct.update(part["require"])
        indirect.update(part["indirect"])
        sums.update(part["sum"])
    for path in direct:
        indirect.pop(path, None)
    return {
        "go": lock["go"],
        "require": sorted(direct.items()),
        "indirect": sorted(indirect.items()),
        "tool": lock["tool"],
        "sum": [line for index, line in enumerate(lock["sum"]) if index in sums],
    }


def render(row: dict, parts: list[str], module: str, version: str) -> dict:
    """What the Go app's templates read (`lock`): go.mod's directives and go.sum's lines."""
    return derive(parts)
