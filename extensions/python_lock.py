"""requirements.lock of the Python runtime, cut from one resolution.

`python-lock.json` (next to this file) holds, from one uv resolution of every part of the Python app
(base, observability, each data service) together: each package's version and the hashes of its
files, and per part what `uv pip compile` wrote for that part alone: the packages it needs, under
which environment marker, and which packages (or the project itself) require each one.
`scripts/python_lock.py` writes it with uv and PyPI. A project's requirements.lock is the union of its
parts in uv's own layout; `scripts/python_lock.py --check` and the build tier prove uv writes the very
same file for the project's pyproject.toml.

Pure: reads its data file once, no subprocess, no network.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCK_PATH = Path(__file__).with_name("python-lock.json")
PROJECT = "{project} (pyproject.toml)"  # how `# via` names the project itself


@cache
def _lock() -> dict:
    return json.loads(LOCK_PATH.read_text())


def derive(parts: list[str], project: str) -> str:
    """The text of requirements.lock for base plus `parts` (data service keys, "observability") in
    a project named `project`."""
    lock = _lock()
    chosen = [lock["parts"][part] for part in ["base", *parts] if part in lock["parts"]]
    markers: dict[str, set] = {}
    via: dict[str, set] = {}
    for part in chosen:
        for name, entry in part.items():
            markers.setdefault(name, set()).add(entry.get("marker"))
            via.setdefault(name, set()).update(entry["via"])
    lines = list(lock["header"])
    for name in sorted(markers):
        package = lock["packages"][name]
        # Needed unconditionally by one part: unconditionally by the project. uv joins differing
        # conditions in its own way; scripts/python_lock.py --check proves no combination has any.
        conditions = markers[name] - {None} if None not in markers[name] else set()
        if len(conditions) > 1:
            raise ValueError(f"{name}: parts need it under different markers {sorted(conditions)}")
        marker = f" ; {conditions.pop()}" if conditions else ""
        lines.append(f"{name}=={package['version']}{marker} \\")
        hashes = package["hashes"]
        lines += [f"    --hash={digest} \\" for digest in hashes[:-1]] + [f"    --hash={hashes[-1]}"]
        requirers = sorted(via[name] - {PROJECT})
        if PROJECT in via[name]:
            requirers.insert(0, PROJECT.format(project=project))
        if len(requirers) == 1:
            lines.append(f"    # via {requirers[0]}")
        else:
            lines += ["    # via"] + [f"    #   {requirer}" for requirer in requirers]
    return "\n".join(lines) + "\n"


def render(row: dict, parts: list[str], project: str, version: str) -> dict:
    """What the Python app's templates read (`lock`): pyproject.toml's dependencies and dev tools
    for base plus `parts`, and requirements.lock's text."""
    return {
        "dependencies": [dep for part in ["base", *parts] for dep in row["packages"].get(part, [])],
        "dev": row["packages"]["dev"],
        "requirements": derive(parts, project),
    }
