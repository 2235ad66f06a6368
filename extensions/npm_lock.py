"""package.json dependencies and package-lock.json of the Node.js runtime, cut from one lockfile.

`node-lock.json` (next to this file) is npm's own lockfile for every part of the catalog's `npm` table
(base, each data service, dev) resolved together; `scripts/node_lock.py` writes it. A project's lockfile
is that tree pruned to what its own package.json reaches, with npm's dev/optional/peer flags recomputed
and npm's key order: byte for byte what `npm install --package-lock-only` writes for that package.json.
One lockfile for all parts keeps the data linear in the number of services (not one per combination),
and shared packages resolve to the same version whatever the combination.

Pure: reads its data file once, no subprocess, no network.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LOCK_PATH = Path(__file__).with_name("node-lock.json")
FLAGS = ("dev", "optional", "devOptional", "peer")
# npm's json-stringify-nice order: scalars before objects, these keys first, then the rest by name.
PREFERRED = (
    "name",
    "version",
    "lockfileVersion",
    "resolved",
    "integrity",
    "requires",
    "packages",
    "dependencies",
)


def dependencies(npm: dict, parts: list[str]) -> dict[str, dict[str, str]]:
    """package.json `dependencies` (base plus each part) and `devDependencies`, sorted like npm does."""
    prod: dict[str, str] = {}
    for part in ["base", *parts]:
        prod.update(npm.get(part, {}))
    return {"dependencies": _sorted(prod), "devDependencies": _sorted(npm.get("dev", {}))}


def _sorted(deps: dict[str, str]) -> dict[str, str]:
    return dict(sorted(deps.items(), key=lambda item: item[0].lower()))


@cache
def _union() -> dict:
    return json.loads(LOCK_PATH.read_text())


def _resolve(packages: dict, where: str, name: str) -> str | None:
    """The lockfile path Node's resolution picks for `name` required from `where`."""
    base = where
    while True:
        candidate = f"{base}/node_modules/{name}" if base else f"node_modules/{name}"
        if candidate in packages:
            return candidate
        if not base:
            return None
        base = base[: base.rfind("node_modules/")].rstrip("/")


def _edges(path: str, entry: dict) -> list[tuple[str, bool, bool, bool]]:
    """(name, dev, optional, peer) for each edge out of a package, as npm's Edge types define them."""
    optional_peers = {
        name for name, meta in entry.get("peerDependenciesMeta", {}).items() if meta.get("optional")
    }
    edges = [(name, False, False, False) for name in entry.get("dependencies", {})]
    edges += [(name, False, True, False) for name in entry.get("optionalDependencies", {})]
    edges += [(name, False, name in optional_peers, True) for name in entry.get("peerDependencies", {})]
    if path == "":
        edges += [(name, True, False, False) for name in entry.get("devDependencies", {})]
    return edges


def prune(union: dict, root: dict) -> dict:
    """The union lockfile cut down to what `root` (the package.json entry) reaches; flags as npm's
    calcDepFlags computes them (every flag starts set and is cleared along qualifying edges)."""
    packages = {"": root, **{path: entry for path, entry in union["packages"].items() if path}}
    flags = {path: dict.fromkeys(FLAGS, path != "") for path in packages}
    reached = {""}
    changed = True
    while changed:
        changed = False
        for path in [p for p in packages if p in reached]:
            node = flags[path]
            for name, dev, optional, peer in _edges(path, packages[path]):
                target = _resolve(packages, path, name)
                if target is None:
                    continue  # an optional peer nobody installs
                if target not in reached:
                    reached.add(target)
                    changed = True
                unset_dev_optional = not (
                    node["devOptional"] or node["dev"] or node["optional"] or dev or optional
                )
                unset = {
                    "devOptional": unset_dev_optional,
                    "dev": unset_dev_optional or not (node["dev"] or dev),
                    "optional": unset_dev_optional or not (node["optional"] or optional),
                    "peer": not (node["peer"] or peer),
                }
                for flag, clear in unset.items():
                    if clear and flags[target][flag]:
                        flags[target][flag] = False
                        changed = True
    result = {}
    for path, entry in packages.items():
        if path not in reached:
            continue
        meta = {key: value for key, value in entry.items() if key not in FLAGS}
        mine = flags[path]
        if mine["peer"]:
            meta["peer"] = True
        if mine["dev"]:
            meta["dev"] = True
        if mine["optional"]:
            meta["optional"] = True
        if mine["devOptional"] and not mine["dev"] and not mine["optional"]:
            meta["devOptional"] = True
        result[path] = _npm_key_order(meta)
    return {
        "name": root["name"],
        "version": root["version"],
        "lockfileVersion": union["lockfileVersion"],
        "requires": True,
        "packages": result,
    }


def _npm_key_order(entry: dict) -> dict:
    def key(item: tuple[str, object]) -> tuple:
        name, value = item
        rank = PREFERRED.index(name) if name in PREFERRED else len(PREFERRED)
        return (isinstance(value, dict), rank, name.lower())

    return dict(sorted(entry.items(), key=key))


@cache
def lockfile(name: str, version: str, deps_json: str, engines: str) -> str:
    """package-lock.json text (no final newline) for a package.json with these fields; `deps_json` is
    the dependencies as JSON text so that the result can be cached."""
    deps = json.loads(deps_json)
    root = {"name": name, "version": version}
    root.update({key: value for key, value in deps.items() if value})
    root["engines"] = {"node": engines}
    lock = prune(_union(), root)
    return json.dumps(lock, indent=2, ensure_ascii=False)


def render(row: dict, parts: list[str], name: str, version: str) -> dict:
    """What the Node.js app's templates read (`lock`): package.json's dependencies and engines and
    package-lock.json's text."""
    deps = dependencies(row["npm"], parts)
    return {
        **deps,
        "engines": row["engines"],
        "package_lock": lockfile(name, version, json.dumps(deps), row["engines"]),
    }
