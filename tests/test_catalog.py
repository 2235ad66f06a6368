"""The Backstage catalog entry (catalog-info.yaml) as a Backstage catalog would ingest it, checked with
Backstage's own `@backstage/catalog-model` (tests/backstage/check.mjs): the catalog backend's entity
policies, each built-in kind's validator, and every entity reference resolvable (owner: a Group or a
User). The prompt's `owner` rule (extensions/context.py) must agree with it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from matrix import DEFAULT, HOSTILE, Variant, implemented, load_extension, supported_services
from support import tools

pytestmark = pytest.mark.lint

EXT = load_extension()
# What the entry depends on: the runtime and orchestrator (its tags) and the data services (one
# Resource each), at the longest slug (58 characters: each Resource's name must still fit 63).
VARIANTS = [
    *(Variant(rt, DEFAULT.orchestrator, "none", supported_services(rt)) for rt in implemented("runtime")),
    *(Variant(DEFAULT.runtime, o, "none", ()) for o in implemented("orchestrator")),
]
# Owners on both sides of the rule: each is accepted by the prompt exactly when Backstage accepts it.
OWNERS = [
    "group:default/platform",
    "platform",
    "default/platform",
    "user:jane.doe",
    "User:default/j_doe-2",
    HOSTILE["owner"],
    "Platform Team!!",
    "group:default/",
    "component:default/shop",
    "group:Default/shop",
    "group:-x/shop",
    "team-",
    "a" * 64,
    "group:a/b/c",
    "group:café",
]


def check(files: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*tools.backstage_check(), *map(str, files)], capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_catalog_entry_is_accepted_by_backstage(render, variant):
    catalogs = [
        render(variant) / "catalog-info.yaml",
        render({**variant.answers, **HOSTILE}) / "catalog-info.yaml",
    ]
    proc = check(catalogs)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_prompt_owner_rule_agrees_with_backstage(render, tmp_path):
    entities = list(yaml.safe_load_all((render(DEFAULT) / "catalog-info.yaml").read_text()))
    files = []
    for number, owner in enumerate(OWNERS):
        for entity in entities:
            entity["spec"]["owner"] = owner
        path = tmp_path / f"owner-{number}.yaml"
        path.write_text(yaml.safe_dump_all(entities, sort_keys=False))
        files.append(path)
    output = check(files).stdout
    for path, owner in zip(files, OWNERS, strict=True):
        refused_by_backstage = f"{path}:" in output
        refused_by_prompt = EXT.owner_error(owner) != ""
        assert refused_by_prompt == refused_by_backstage, (owner, EXT.owner_error(owner), output)
    assert sum(EXT.owner_error(owner) == "" for owner in OWNERS) >= 5, "both sides of the rule"


def test_backstage_refuses_a_broken_entry(render, tmp_path):
    entities = list(yaml.safe_load_all((render(DEFAULT) / "catalog-info.yaml").read_text()))
    entities[0]["metadata"]["name"] = "hello service"
    entities[0]["spec"]["type"] = ""
    path = tmp_path / "catalog-info.yaml"
    path.write_text(yaml.safe_dump_all(entities, sort_keys=False))
    proc = check([path])
    assert proc.returncode == 1
    assert '"metadata.name" is not valid' in proc.stdout
