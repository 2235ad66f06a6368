"""Lint tier: each runtime's dev container (`.devcontainer/`), as the Dev Containers tooling reads it.

Its JSON schema (devcontainers/spec) is published on GitHub only, which these machines cannot reach,
and no registry package carries it (README says so). What is checked instead, with real tools: Compose's
own loader on the two files the dev container runs (`../compose.yaml` and its own), merged the way the
tooling merges them, and that devcontainer.json names what is there: the service, every service it
starts, the folder the repo is mounted at, the runtime's toolchain image and its install command.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from matrix import DEFAULT, Variant, implemented, load_extension, supported_services
from support import tools

pytestmark = pytest.mark.lint

CATALOG = load_extension().catalog


def variants() -> list[Variant]:
    found = []
    for runtime in implemented("runtime"):
        services = tuple(s for s in ("postgres", "redis") if s in supported_services(runtime))
        found += [Variant(runtime, DEFAULT.orchestrator, DEFAULT.cloud, chosen) for chosen in ((), services)]
    return found


VARIANTS = variants()


def merged_compose(project: Path, config: dict) -> subprocess.CompletedProcess:
    """`docker compose config` of the files devcontainer.json lists (relative to its folder), with
    the pinned docker CLI and compose plugin (no daemon)."""
    docker, env = tools.docker_with_compose()
    files = [str((project / ".devcontainer" / name).resolve()) for name in config["dockerComposeFile"]]
    command = [str(docker), "compose", *(arg for name in files for arg in ("-f", name))]
    return subprocess.run(
        [*command, "config", "--format", "json"], capture_output=True, text=True, check=False, env=env
    )


def install_recipe(project: Path) -> str:
    """The command `make install` runs (the Makefile's recipe line under `install:`)."""
    makefile = (project / "Makefile").read_text()
    return re.search(r"^install:.*\n\t(.+)$", makefile, re.M).group(1)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_dev_container_runs_the_toolchain_beside_the_compose_services(render, variant):
    project = render(variant)
    config = json.loads((project / ".devcontainer" / "devcontainer.json").read_text())
    proc = merged_compose(project, config)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    services = json.loads(proc.stdout)["services"]

    workspace = services[config["service"]]
    assert set(config["runServices"]) == {config["service"], *(s for s in variant.data_services)}
    assert set(config["runServices"]) <= set(services), "it starts only services compose defines"
    mounts = {m["target"]: m["source"] for m in workspace["volumes"] if m["type"] == "bind"}
    assert Path(mounts[config["workspaceFolder"]]) == project.resolve(), "the repo, at workspaceFolder"
    # The host's network: .env's localhost URLs reach the ports compose.yaml publishes.
    assert workspace["network_mode"] == "host"
    for service in variant.data_services:
        published = {p["host_ip"] for p in services[service]["ports"]}
        assert published == {"127.0.0.1"}, "reachable from the dev container as localhost"

    runtime = CATALOG.RUNTIMES[variant.runtime]
    assert workspace["image"] == runtime["devcontainer"]["image"]
    assert f":1-{runtime['version']}-" in workspace["image"], "the app's language version"
    assert config["postCreateCommand"] == f"cd app && {install_recipe(project).removeprefix('cd app && ')}"
    exposed = re.search(r"^EXPOSE (\d+)", (project / "app" / "Dockerfile").read_text(), re.M).group(1)
    assert config["forwardPorts"] == [int(exposed)], "the app's port"


def test_compose_refuses_a_dev_container_naming_an_unknown_key(render, tmp_path):
    """The check above can fail: Compose refuses the merged files when the dev container's is wrong."""
    project = render(VARIANTS[0])
    shutil.copy(project / "compose.yaml", tmp_path / "compose.yaml")
    shutil.copytree(project / ".devcontainer", tmp_path / ".devcontainer")
    compose = tmp_path / ".devcontainer" / "compose.yaml"
    compose.write_text(compose.read_text().replace("network_mode:", "netwrk_mode:"))
    config = json.loads((tmp_path / ".devcontainer" / "devcontainer.json").read_text())
    proc = merged_compose(tmp_path, config)
    assert proc.returncode != 0 and "netwrk_mode" in proc.stderr
