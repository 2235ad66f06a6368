"""Structure: a data service is its catalog row plus its own files. For each service, the files that
may name it (its key, its label or its variable, as a word, in any case) are the catalog, the lock
data generated from it, and the files and folders whose path is conditioned on that service; any
other file naming it is a place the next service would have to be edited into. The paths themselves
carry one plain condition per part: a fact that combines answers ("the app has a message broker")
is derived once, in extensions/context.py. Likewise a runtime is its app folder and its catalog row:
no shared file branches on it, and no tier, helper or script knows one by name but those that test a
runtime's own files."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from matrix import ROOT, load_extension

pytestmark = pytest.mark.unit
catalog = load_extension().catalog

SCANNED = ("template", "includes", "extensions")
# Data with a row for every service, by design: the catalog and the lock data resolved from it.
CATALOG_FILES = {
    "extensions/catalog.py",
    "extensions/python-lock.json",
    "extensions/java-lock.json",
    "extensions/go-lock.json",
    "extensions/node-lock.json",
}
AZURE_MEMCACHED = (
    "template/{% if cloud == 'azure' %}infra{% endif %}/terraform/"
    "{% if 'memcached' in data_services %}memcached.tf{% endif %}"
)
# A service's own file that names another service, and why it must.
ALSO_NAMED_IN = {
    (
        "redis",
        AZURE_MEMCACHED,
    ): "Azure has no managed Memcached: the file says why Azure Cache for Redis is not one",
}


@cache
def scanned_files() -> tuple[str, ...]:
    files = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files.append(path.relative_to(ROOT).as_posix())
    return tuple(files)


@cache
def naming(key: str) -> re.Pattern:
    svc = catalog.DATA_SERVICES[key]
    words = "|".join(re.escape(word) for word in (key, svc["label"], svc["env"]))
    return re.compile(rf"(?<![A-Za-z0-9_])({words})(?![A-Za-z0-9_])", re.IGNORECASE)


@cache
def text(path: str) -> str:
    return (ROOT / path).read_text(errors="replace")


def names(path: str, key: str) -> bool:
    return bool(naming(key).search(text(path)))


def own(path: str, key: str) -> bool:
    return f"{{% if '{key}' in data_services %}}" in path


@pytest.mark.parametrize("key", list(catalog.DATA_SERVICES))
def test_only_its_own_files_name_a_data_service(key):
    offenders = [
        path
        for path in scanned_files()
        if path not in CATALOG_FILES
        and not own(path, key)
        and (key, path) not in ALSO_NAMED_IN
        and names(path, key)
    ]
    assert not offenders, (
        f"{key} is named outside its catalog row and its own files: derive what these need from the "
        f"catalog (extensions/context.py), or move it into {key}'s files: {offenders}"
    )


@pytest.mark.parametrize(("key", "path"), list(ALSO_NAMED_IN))
def test_each_allowed_exception_is_still_needed(key, path):
    assert (ROOT / path).is_file(), f"{path} is gone: drop its entry"
    assert names(path, key), f"{path} no longer names {key}: drop its entry"


def test_the_scan_sees_every_service_in_its_own_files():
    """The rule above is not vacuous: every service has files of its own that name it."""
    for key in catalog.DATA_SERVICES:
        assert [path for path in scanned_files() if own(path, key) and names(path, key)], key


CONDITION = re.compile(r"{%-?\s*if\s+(.*?)\s*-?%}")


def test_every_path_part_carries_at_most_one_plain_condition():
    combined = []
    for path in scanned_files():
        for part in Path(path).parts:
            conditions = CONDITION.findall(part)
            if len(conditions) > 1 or any(re.search(r"\b(and|or)\b", c) for c in conditions):
                combined.append(path)
    assert not combined, f"derive the combined fact in extensions/context.py instead: {combined}"


# The context hook, every tier, helper and script read what they need of a runtime from its catalog
# row (the tests through tests/runtimes.py's Driver): none may branch on a runtime's name, but for a
# runtime's own files (its lock renderer and script) and these, each testing one runtime's own files.
RUNTIME_OWN = {
    "tests/test_unit.py": "each runtime's lock renderer and lock data, against that runtime's rules",
    "tests/test_render.py": "the Node app's package.json and package-lock.json agree",
    "tests/test_structure.py": "the runtime scan's own probe",
    "tests/support/tools.py": "Maven's release is the Java row's build image's",
    "scripts/standin_bases.py": "recipes are named for the image families they stand in for (python, node)",
}


def tiers() -> list[str]:
    """Every Python file of the hook, the tests and the scripts but the catalog and each runtime's
    own: its lock renderer (its row's lock_renderer) and its lock script."""
    own = {"extensions/catalog.py"}
    for name, row in catalog.RUNTIMES.items():
        own |= {f"extensions/{row['lock_renderer']}", f"scripts/{name}_lock.py"}
    paths = sorted(
        [
            *(ROOT / "extensions").glob("*.py"),
            *(ROOT / "tests").rglob("*.py"),
            *(ROOT / "scripts").glob("*.py"),
        ]
    )
    rels = [path.relative_to(ROOT).as_posix() for path in paths]
    return [rel for rel in rels if rel not in own and rel not in RUNTIME_OWN]


def runtime_named(text: str) -> list[str]:
    names = "|".join(re.escape(name) for name in catalog.RUNTIMES)
    pattern = rf"""(?:==|!=)\s*["']({names})["']|\[["']({names})["']\]|["']({names})["']\s*:"""
    return [m.group(0) for m in re.finditer(pattern, text)]


@pytest.mark.parametrize("path", tiers())
def test_tiers_know_no_runtime_by_name(path):
    found = runtime_named((ROOT / path).read_text())
    assert not found, f"{path} special-cases a runtime ({found}): put the fact in its catalog row"


@pytest.mark.parametrize("path", list(RUNTIME_OWN))
def test_each_runtime_exception_is_still_needed(path):
    assert runtime_named((ROOT / path).read_text()), f"{path} names no runtime any more: drop its entry"


def test_the_runtime_scan_finds_a_name():
    assert runtime_named('if runtime == "go":') and runtime_named('CODES = {"java": 143}')


def test_shared_files_do_not_branch_on_the_runtime():
    """A runtime's own files are its app folder; every other file reads the runtime's catalog row."""
    branching = [
        path
        for path in scanned_files()
        if "{% if runtime ==" not in path
        and re.search(r"{%-?\s*(?:el)?if\s+runtime\s*(?:==|!=|in\b)", text(path))
    ]
    assert not branching, f"put what differs in the runtime's catalog row: {branching}"


def mesh_facts() -> set[str]:
    """What a mesh asks of the app's pods and NetworkPolicy: annotation and label names, ports."""
    facts: set[str] = set()
    for mesh in catalog.MESHES.values():
        for field in ("pod_labels", "pod_annotations", "strict_pod_annotations", "test_pod_annotations"):
            facts |= set(mesh.get(field, {}))
        facts |= {str(rule["port"]) for rule in mesh.get("ingress", [])}
        facts |= {
            str(port) for rule in mesh.get("egress", []) if not rule["namespace"] for port in rule["ports"]
        }
        facts |= {str(mesh["metrics"]["port"])} if "port" in mesh.get("metrics", {}) else set()
    return facts


def test_mesh_needs_live_in_the_catalog_only():
    """Kustomize's patches and the Helm chart (its files/meshes.yaml) are rendered from MESHES: no
    other file spells a mesh's annotation, label or port."""
    facts = mesh_facts()
    assert {"linkerd.io/inject", "sidecar.istio.io/inject", "15020", "4143"} <= facts
    spelled = {
        path: sorted(
            fact for fact in facts if re.search(rf"(?<![\w.-]){re.escape(fact)}(?![\w.-])", text(path))
        )
        for path in scanned_files()
        if path != "extensions/catalog.py"
    }
    assert not {path: found for path, found in spelled.items() if found}, "read it from catalog.MESHES"
