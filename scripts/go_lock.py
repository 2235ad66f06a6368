#!/usr/bin/env python3
"""Resolve the Go runtime's modules into extensions/go-lock.json, with the real toolchain.

The catalog (RUNTIMES["go"]["go_modules"]) pins the modules each part of the Go app imports: base,
observability, each data service; `go_tools` pins the developer tools of go.mod's `tool` block. This
script renders the app with every part, has `go mod tidy` resolve what they need (from the Go module
proxy, checked against the checksum database), then renders each part alone and lets `go mod tidy`
prune that full resolution to what the part needs. Each project's go.mod and go.sum are the union of
its parts (extensions/go_lock.py). Run it after changing a pin; `--check` then renders every
combination of parts and proves `go mod tidy -diff` finds nothing to change.

    .venv/bin/python scripts/go_lock.py            # write extensions/go-lock.json
    .venv/bin/python scripts/go_lock.py --check    # and check all 128 combinations
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "extensions" / "go-lock.json"
sys.path.insert(0, str(ROOT / "tests"))

from matrix import check_combinations, copy_working_tree, load_extension, render_app  # noqa: E402
from runtimes import go_env as pinned_go  # noqa: E402


def go_env() -> dict[str, str]:
    return {**os.environ, **pinned_go()}


def run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=go_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} in {cwd} failed:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def parse_go_mod(text: str) -> dict:
    """{"go": ..., "require": {path: version}, "indirect": {...}, "tool": [...]} of a tidy go.mod."""
    result: dict = {"go": "", "require": {}, "indirect": {}, "tool": []}
    block = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("module "):
            continue
        if line.startswith("go "):
            result["go"] = line.split()[1]
        elif line.endswith("("):
            block = line.split()[0]
        elif line == ")":
            block = ""
        else:
            words = line.split()
            kind = block or words.pop(0)
            if kind == "tool":
                result["tool"].append(words[0])
            elif kind == "require":
                result["indirect" if "// indirect" in line else "require"][words[0]] = words[1]
    return result


def write_go_mod(app: Path, requires: dict[str, str], go: str, tools: list[str]) -> None:
    """A go.mod requiring exactly `requires`, before tidy; go.sum is kept as it is."""
    module = re.search(r"^module (\S+)", (app / "go.mod").read_text(), re.M).group(1)
    lines = [f"module {module}", "", f"go {go}", "", "require ("]
    lines += [f"\t{path} {version}" for path, version in sorted(requires.items())]
    lines += [")", ""] + [f"tool {tool}" for tool in tools]
    (app / "go.mod").write_text("\n".join(lines) + "\n")


# --- go.sum order: module path, then semantic version, the h1: line before the /go.mod one ---------


def _semver_key(version: str) -> tuple:
    core, _, pre = version.removeprefix("v").split("+")[0].partition("-")
    numbers = tuple(int(n) for n in core.split("."))
    if not pre:
        return (numbers, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (numbers, 0, ids)


def sum_key(line: str) -> tuple:
    path, version, _ = line.split(" ", 2)
    bare = version.removesuffix("/go.mod")
    return (path, _semver_key(bare), version.endswith("/go.mod"))


render = functools.partial(render_app, "go")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="check every combination of parts afterwards")
    args = parser.parse_args()
    go_rt = load_extension().catalog.RUNTIMES["go"]
    modules, tools = go_rt["go_modules"], go_rt["go_tools"]
    services = [key for key in modules if key not in ("base", "observability")]
    go_directive = f"{go_rt['version']}.0"

    with tempfile.TemporaryDirectory(prefix="go-lock-") as tmp:
        work = Path(tmp)
        template = copy_working_tree(work / "template")

        # Everything together: the catalog's pins plus what they need, resolved once.
        full = render(template, work / "full", services, True)
        pins = {path: version for part in modules.values() for path, version in part.items()}
        write_go_mod(full, pins, go_directive, [])
        (full / "go.sum").unlink(missing_ok=True)
        for tool, version in tools.items():
            run(["go", "get", "-tool", f"{tool}@{version}"], full)
        run(["go", "mod", "tidy"], full)
        resolved = parse_go_mod((full / "go.mod").read_text())
        everything = {**resolved["require"], **resolved["indirect"]}
        for path, version in pins.items():
            if everything.get(path) != version:
                raise SystemExit(f"{path}: pinned {version}, but the resolution needs {everything.get(path)}")
        full_sum = (full / "go.sum").read_text()

        # Each part alone, pruned by tidy from the full resolution (tidy never changes a version).
        parts: dict[str, dict] = {}
        for part in ["base", "observability", *services]:
            app = render(template, work / part, [part] if part in services else [], part == "observability")
            write_go_mod(app, everything, resolved["go"], resolved["tool"])
            (app / "go.sum").write_text(full_sum)
            run(["go", "mod", "tidy"], app)
            mod = parse_go_mod((app / "go.mod").read_text())
            parts[part] = {
                "require": mod["require"],
                "indirect": mod["indirect"],
                "sum": (app / "go.sum").read_text().splitlines(),
            }
        base = parts["base"]
        for part, data in parts.items():
            if part != "base":
                for key in ("require", "indirect"):
                    data[key] = {p: v for p, v in data[key].items() if base[key].get(p) != v}
                data["sum"] = sorted(set(data["sum"]) - set(base["sum"]), key=sum_key)
        every_line = sorted({line for data in parts.values() for line in data["sum"]}, key=sum_key)
        lock = {"go": resolved["go"], "tool": resolved["tool"], "sum": every_line, "parts": parts}
        index = {line: n for n, line in enumerate(every_line)}
        for data in parts.values():  # the top-level list holds the text once; parts name lines by it
            data["sum"] = sorted(index[line] for line in data["sum"])
        LOCK.write_text(json.dumps(lock, indent=1) + "\n")
        print(f"wrote {LOCK.relative_to(ROOT)}: {len(everything)} modules, {len(every_line)} go.sum lines")

        if args.check:
            template = copy_working_tree(work / "template-checked")  # with the new lock

            def problem(app: Path) -> str | None:
                diff = subprocess.run(["go", "mod", "tidy", "-diff"], cwd=app, env=go_env(),
                                      capture_output=True, text=True, check=False)  # fmt: skip
                return f"go mod tidy would change:\n{diff.stdout}{diff.stderr}" if diff.returncode else None

            return check_combinations("go", template, work, services, problem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
