"""The Java runtime's trusted checksums (.mvn/checksums/checksums.sha256), cut from per-part records.

`java-lock.json` (next to this file) holds, for each part of the Java app (base, observability, each
data service), the lines Maven's resolver recorded for the app with that part alone: the SHA-256 of
every artifact its `make lock` resolved (dependencies, BOMs and parent POMs, plugins and what they
fetch), each line `<sha256>  <path in the local repository>`. The path names the version, so the
union of the chosen parts, in the file's own byte order, is what Maven records for the project;
`scripts/java_lock.py` writes the data with Maven and proves that on the app with every part.

Pure: reads its data file once, no subprocess, no network.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCK_PATH = Path(__file__).with_name("java-lock.json")


@cache
def _lock() -> dict:
    return json.loads(LOCK_PATH.read_text())


def derive(parts: list[str]) -> list[str]:
    """The lines of checksums.sha256 for base plus `parts` (data service keys, "observability")."""
    lock = _lock()
    chosen: set[int] = set()  # indexes into the lock's one sorted list of lines
    for part in ["base", *parts]:
        chosen.update(lock["parts"].get(part, []))
    return [line for index, line in enumerate(lock["lines"]) if index in chosen]


def render(row: dict, parts: list[str], project: str, version: str) -> dict:
    """What the Java app's templates read (`lock`): the lines of .mvn/checksums/checksums.sha256."""
    return {"checksums": derive(parts)}
