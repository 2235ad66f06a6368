#!/usr/bin/env python3
"""Resolve the Node.js runtime's npm packages into extensions/node-lock.json.

The catalog (RUNTIMES["node"]["npm"]) lists package.json ranges per part: base, each data service, dev.
This script resolves every part together with npm into one lockfile; each rendered project's
package-lock.json is that lockfile pruned to its own services (extensions/npm_lock.py). Run it after
changing a range in the catalog; the unit tier fails while the two disagree.

    .venv/bin/python scripts/node_lock.py            # keep existing pins that still satisfy the ranges
    .venv/bin/python scripts/node_lock.py --upgrade  # re-resolve everything to the newest matching
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "extensions" / "node-lock.json"
NAME = "cn-template-node-lock"
# Explicit, so the result does not depend on the machine's npmrc: resolved URLs are npm's default.
NPM_FLAGS = [
    "--package-lock-only",
    "--ignore-scripts",
    "--no-audit",
    "--no-fund",
    "--omit-lockfile-registry-resolved=false",
]


def load_catalog():
    spec = importlib.util.spec_from_file_location("catalog", ROOT / "extensions" / "catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def union_package_json(node: dict) -> dict:
    """A package.json holding every part of the catalog's npm table."""
    prod = {}
    for part, deps in node["npm"].items():
        if part != "dev":
            prod.update(deps)
    return {
        "name": NAME,
        "version": "0.0.0",
        "private": True,
        "engines": {"node": node["engines"]},
        "dependencies": dict(sorted(prod.items())),
        "devDependencies": dict(sorted(node["npm"]["dev"].items())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="ignore the current pins")
    args = parser.parse_args()
    npm = shutil.which("npm")
    if not npm:
        print("npm is required", file=sys.stderr)
        return 1
    node = load_catalog().RUNTIMES["node"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "package.json").write_text(json.dumps(union_package_json(node), indent=2) + "\n")
        if LOCK.exists() and not args.upgrade:
            shutil.copy(LOCK, work / "package-lock.json")
        proc = subprocess.run([npm, "install", *NPM_FLAGS], cwd=work, capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stdout + proc.stderr, file=sys.stderr)
            return proc.returncode
        shutil.copy(work / "package-lock.json", LOCK)
    count = len(json.loads(LOCK.read_text())["packages"]) - 1
    print(f"wrote {LOCK.relative_to(ROOT)}: {count} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
