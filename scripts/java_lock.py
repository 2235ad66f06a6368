#!/usr/bin/env python3
"""Record the Java runtime's trusted checksums into extensions/java-lock.json, with Maven.

The Java app's .mvn/maven.config has Maven (3.9 or newer) check every artifact it resolves against
.mvn/checksums/checksums.sha256. This script renders the app with each part alone (base,
observability, each data service), runs its `make lock` (Maven's resolver recording the SHA-256 of
every artifact install, lint and test resolve, from Maven Central) and keeps each part's lines; a
project's file is the union of its parts (extensions/java_lock.py). It then records the app with
every part and proves that union is byte for byte what Maven writes. Run it after changing Spring
Boot, a Maven artifact or plugin in the catalog; the build tier runs `make lock` on its variants.

    .venv/bin/python scripts/java_lock.py
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "extensions" / "java-lock.json"
sys.path.insert(0, str(ROOT / "tests"))

from matrix import copy_working_tree, load_extension, render_app  # noqa: E402
from support.tools import maven  # noqa: E402


def record(app: Path) -> list[str]:
    """The lines `make lock` records for this app, with the build image's Maven."""
    java = load_extension().catalog.RUNTIMES["java"]
    env = {**os.environ, "PATH": f"{maven() / 'bin'}:{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", "-c", java["commands"]["lock"]],
        cwd=app,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"make lock in {app} failed:\n{proc.stdout[-4000:]}{proc.stderr[-4000:]}")
    (lockfile,) = java["lockfiles"]
    return (app / lockfile).read_text().splitlines()


render = functools.partial(render_app, "java")


def main() -> int:
    java = load_extension().catalog.RUNTIMES["java"]
    services = list(java["services"])
    with tempfile.TemporaryDirectory(prefix="java-lock-") as tmp:
        work = Path(tmp)
        template = copy_working_tree(work / "template")
        parts: dict[str, set[str]] = {}
        for part in ["base", "observability", *services]:
            app = render(template, work / part, [part] if part in services else [], part == "observability")
            parts[part] = set(record(app))
            print(f"{part}: {len(parts[part])} artifacts", flush=True)
        base = parts["base"]
        lines = sorted(set().union(*parts.values()))
        index = {line: n for n, line in enumerate(lines)}
        lock = {
            "maven": str(maven().name.removeprefix("maven-")),
            "lines": lines,
            "parts": {
                part: sorted(index[line] for line in (found if part == "base" else found - base))
                for part, found in parts.items()
            },
        }
        full = set(record(render(template, work / "full", services, True)))
        if full != set(lines):
            print(f"the app with every part records {len(full ^ set(lines))} other lines", file=sys.stderr)
            return 1
        LOCK.write_text(json.dumps(lock, indent=1) + "\n")
        print(f"wrote {LOCK.relative_to(ROOT)}: {len(lines)} artifacts; the app with every part agrees")
    return 0


if __name__ == "__main__":
    sys.exit(main())
