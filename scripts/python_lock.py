#!/usr/bin/env python3
"""Resolve the Python runtime's packages into extensions/python-lock.json, with uv.

The catalog (RUNTIMES["python"]["packages"]) lists pyproject.toml's ranges per part: base,
observability, each data service. This script renders the app with every part and has uv resolve them
together (every platform and Python version the project supports, with the hashes of every file),
keeping the versions already locked unless `--upgrade`; then renders each part alone and lets uv
compile it against that resolution, recording what each part needs, under which marker and why.
Each project's requirements.lock is the union of its parts (extensions/python_lock.py). Run it after
changing a range; `--check` then renders every combination of parts and proves uv writes the very
same requirements.lock for its pyproject.toml.

    .venv/bin/python scripts/python_lock.py            # keep the locked versions that still fit
    .venv/bin/python scripts/python_lock.py --upgrade  # re-resolve everything to the newest
    .venv/bin/python scripts/python_lock.py --check    # and check all 128 combinations
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "extensions" / "python-lock.json"
sys.path.insert(0, str(ROOT / "tests"))

from matrix import check_combinations, copy_working_tree, load_extension, render_app  # noqa: E402

PACKAGE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._-]*)==(?P<version>\S+?)(?: ; (?P<marker>.+?))? \\$")


def uv() -> str:
    """The uv the repository's own tools pin (pyproject.toml's dev group)."""
    local = Path(sys.executable).with_name("uv")
    return str(local) if local.exists() else shutil.which("uv") or "uv"


def compile_command() -> list[str]:
    """The generated project's `make lock`, run with this repository's uv."""
    words = shlex.split(load_extension().catalog.RUNTIMES["python"]["commands"]["lock"])
    return [uv(), *words[1:]]


def compile_lock(app: Path, upgrade: bool = False) -> str:
    """What uv writes to requirements.lock for app/pyproject.toml, preferring the versions it holds."""
    cmd = [*compile_command(), *(["--upgrade"] if upgrade else [])]
    proc = subprocess.run(cmd, cwd=app, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} in {app} failed:\n{proc.stdout}{proc.stderr}")
    return (app / "requirements.lock").read_text()


def parse(text: str, project: str) -> tuple[list[str], dict[str, dict]]:
    """(header lines, {name: {version, marker, hashes, via}}) of a requirements.lock uv wrote."""
    header: list[str] = []
    packages: dict[str, dict] = {}
    current: dict | None = None
    for line in text.splitlines():
        match = PACKAGE.match(line)
        if match:
            current = {"version": match["version"], "marker": match["marker"], "hashes": [], "via": []}
            packages[match["name"]] = current
        elif current is None:
            header.append(line)
        elif line.startswith("    --hash="):
            current["hashes"].append(line.split("=", 1)[1].removesuffix(" \\"))
        elif line.startswith("    # via") or line.startswith("    #   "):
            requirer = line.removeprefix("    # via").removeprefix("    #   ").strip()
            if requirer:
                current["via"].append("{project} (pyproject.toml)" if requirer == project else requirer)
        else:
            raise SystemExit(f"unexpected line in uv's output: {line!r}")
    return header, packages


def project_name(app: Path) -> str:
    return re.search(r'^name = "([^"]+)"', (app / "pyproject.toml").read_text(), re.M).group(1) + (
        " (pyproject.toml)"
    )


render = functools.partial(render_app, "python")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="newest versions within the ranges")
    parser.add_argument("--check", action="store_true", help="check every combination of parts afterwards")
    args = parser.parse_args()
    py_rt = load_extension().catalog.RUNTIMES["python"]
    parts_of = [part for part in py_rt["packages"] if part != "dev"]
    services = [part for part in parts_of if part not in ("base", "observability")]
    old = json.loads(LOCK.read_text())["packages"] if LOCK.exists() else {}

    with tempfile.TemporaryDirectory(prefix="python-lock-") as tmp:
        work = Path(tmp)
        template = copy_working_tree(work / "template")

        # Everything together, preferring the versions locked so far.
        full = render(template, work / "full", services, True)
        seed = "".join(f"{name}=={entry['version']}\n" for name, entry in old.items())
        (full / "requirements.lock").write_text(seed)
        full_text = compile_lock(full, upgrade=args.upgrade)
        header, resolved = parse(full_text, project_name(full))

        # Each part alone, compiled against that resolution (uv keeps a version it is given).
        parts: dict[str, dict] = {}
        for part in ["base", "observability", *services]:
            app = render(template, work / part, [part] if part in services else [], part == "observability")
            (app / "requirements.lock").write_text(full_text)
            _, alone = parse(compile_lock(app), project_name(app))
            for name, entry in alone.items():
                if entry["version"] != resolved[name]["version"]:
                    raise SystemExit(f"{part}: {name} {entry['version']}, the whole resolution has another")
            parts[part] = {
                name: {"marker": entry["marker"], "via": entry["via"]}
                if entry["marker"]
                else {"via": entry["via"]}
                for name, entry in alone.items()
            }
        packages = {name: {"version": e["version"], "hashes": e["hashes"]} for name, e in resolved.items()}
        lock = {"header": header, "packages": packages, "parts": parts}
        LOCK.write_text(json.dumps(lock, indent=1) + "\n")
        changed = sorted(
            name for name in packages if old.get(name, {}).get("version") != packages[name]["version"]
        )
        print(f"wrote {LOCK.relative_to(ROOT)}: {len(packages)} packages; new versions: {changed or 'none'}")

        if args.check:
            template = copy_working_tree(work / "template-checked")  # with the new lock

            def problem(app: Path) -> str | None:
                same = compile_lock(app) == (app / "requirements.lock").read_text()
                return None if same else "uv writes another requirements.lock"

            return check_combinations("python", template, work, services, problem)
    return 0


if __name__ == "__main__":
    sys.exit(main())
