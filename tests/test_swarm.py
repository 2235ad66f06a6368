"""The Swarm stack and the local compose.yaml: valid against the Compose Specification's JSON schema
(the copy check-jsonschema vendors), the stack accepted by `docker stack config` (Docker's own stack
loader, offline) and compose.yaml by `docker compose config` (Compose's own loader), and hardened:
non-root user, read-only root filesystem, every capability dropped, replicas, rolling update with
rollback, resources, restart policy, health check, Swarm secrets.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
from functools import cache
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
import yaml

from matrix import DEFAULT, all_variants, edge_variants, load_extension, migrates
from renderings import swarm_stack
from support import tools

EXT = load_extension()
VARIANTS = all_variants()
SWARM = [v for v in VARIANTS if v.orchestrator == "swarm"]
SWARM_EDGE = [v for v in edge_variants() if v.orchestrator == "swarm"]
# Keys `docker stack deploy` ignores (with a warning): a stack must not rely on them.
IGNORED_BY_SWARM = {
    "build",
    "container_name",
    "depends_on",
    "links",
    "network_mode",
    "restart",
    "security_opt",
}
IGNORED_BY_SWARM |= {"tmpfs", "devices", "cgroup_parent", "external_links", "userns_mode"}


@cache
def compose_schema() -> dict:
    """The Compose Specification JSON schema, as check-jsonschema ships it (vendor/compose-spec.json)."""
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return json.loads(vendor.joinpath("compose-spec.json").read_text())


def schema_errors(document: dict) -> list[str]:
    validator = jsonschema.Draft202012Validator(compose_schema())
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def spec_of(project: Path) -> dict:
    return EXT.derive(yaml.safe_load((project / ".copier-answers.yml").read_text()))["service_spec"]


def stack_violations(stack: dict, spec: dict) -> list[str]:
    """What keeps the stack from the golden path; an empty list is a pass."""
    found = []
    services = stack.get("services", {})
    if "app" not in services:
        return ["no app service"]
    for name, service in services.items():
        where = f"services.{name}"
        if service.get("user") != f"{spec['uid']}:{spec['uid']}":
            found.append(f"{where}: user must be the numeric non-root {spec['uid']}")
        if service.get("read_only") is not True:
            found.append(f"{where}: read_only must be true")
        if service.get("cap_drop") != ["ALL"]:
            found.append(f"{where}: cap_drop must be [ALL]")
        if set(service) & IGNORED_BY_SWARM:
            found.append(f"{where}: keys Swarm ignores: {sorted(set(service) & IGNORED_BY_SWARM)}")
        deploy = service.get("deploy", {})
        for key in ("resources", "restart_policy"):
            if key not in deploy:
                found.append(f"{where}: deploy.{key} missing")
        for secret in service.get("secrets", []):
            if str(secret.get("mode")) not in {"256", "288"}:  # 0400 or 0440
                found.append(f"{where}: secret {secret.get('source')} must not be world-readable")
    app = services["app"]
    deploy = app.get("deploy", {})
    if deploy.get("replicas") != spec["scaling"]["replicas"]:
        found.append("app: deploy.replicas")
    if deploy.get("update_config", {}).get("failure_action") != "rollback":
        found.append("app: deploy.update_config must roll back on failure")
    if "rollback_config" not in deploy:
        found.append("app: deploy.rollback_config missing")
    if deploy.get("resources") != spec["swarm_resources"]:
        found.append("app: deploy.resources must be the spec's")
    if not app.get("healthcheck", {}).get("interval"):
        found.append("app: healthcheck missing")
    if {v.get("target") for v in app.get("volumes", []) if v.get("type") == "tmpfs"} != set(spec["tmp_dirs"]):
        found.append("app: a tmpfs volume per scratch directory")
    mounted = {secret["target"] for secret in app.get("secrets", [])}
    for name in spec["secret_env"]:
        if spec["secret_files"]:
            if name not in mounted or app["environment"].get(f"{name}_FILE") != f"/run/secrets/{name}":
                found.append(f"app: {name} must come from a Swarm secret file")
        elif name not in app.get("environment", {}):
            found.append(f"app: {name} must come from the deploying shell")
    for name, secret in stack.get("secrets", {}).items():
        if secret.get("external") is not True:
            found.append(f"secrets.{name} must be external (created with docker secret create)")
    return found


def stack_config(path: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(tools.docker_cli()), "stack", "config", "--compose-file", str(path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


@pytest.mark.render
@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_compose_file_matches_the_compose_spec(render, variant):
    assert schema_errors(yaml.safe_load((render(variant) / "compose.yaml").read_text())) == []


# compose.yaml depends on the runtime, the data services and observability, not on the orchestrator
# or the cloud.
COMPOSE_EDGE = [
    v for v in edge_variants() if (v.orchestrator, v.cloud) == (DEFAULT.orchestrator, DEFAULT.cloud)
]


def compose_config(project: Path, compose_file: Path) -> subprocess.CompletedProcess:
    """`docker compose config --quiet` with the pinned docker CLI and compose plugin (no daemon)."""
    docker, env = tools.docker_with_compose()
    command = [str(docker), "compose", "--project-directory", str(project), "-f", str(compose_file)]
    return subprocess.run(
        [*command, "config", "--quiet"], capture_output=True, text=True, check=False, env=env
    )


@pytest.mark.lint
@pytest.mark.parametrize("variant", COMPOSE_EDGE, ids=[v.id for v in COMPOSE_EDGE])
def test_compose_file_loads_in_docker_compose(render, variant):
    """Compose's own loader (interpolation, validation, the build contexts) accepts compose.yaml with
    no warning, as `make up` will run it."""
    project = render(variant)
    proc = compose_config(project, project / "compose.yaml")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


@pytest.mark.lint
def test_docker_compose_refuses_a_broken_file(render, tmp_path):
    """The check above can fail: an unknown key in a service is refused."""
    project = render(COMPOSE_EDGE[0])
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    compose["services"]["app"]["restartt"] = "always"
    broken = tmp_path / "compose.yaml"
    broken.write_text(yaml.safe_dump(compose))
    proc = compose_config(project, broken)
    assert proc.returncode != 0 and "restartt" in proc.stderr


@pytest.mark.render
@pytest.mark.parametrize("variant", SWARM, ids=[v.id for v in SWARM])
def test_stack_matches_the_compose_spec_and_is_hardened(render, variant):
    project = render(variant)
    stack = swarm_stack(project)
    assert schema_errors(stack) == []
    spec = spec_of(project)
    assert stack_violations(stack, spec) == []
    assert set(stack["services"]) == ({"app", "migrate"} if migrates(variant) else {"app"})
    if "migrate" in stack["services"]:
        assert stack["services"]["migrate"]["deploy"]["mode"] == "replicated-job"
    environment = stack["services"]["app"]["environment"]
    from_shell = set() if spec["secret_files"] else set(spec["secret_env"])
    plain = {k: v for k, v in environment.items() if not k.endswith("_FILE") and k not in from_shell}
    assert plain == spec["plain_env"]
    for name in from_shell:  # credentials without <NAME>_FILE support come from the deploying shell
        assert environment[name] == f"${{{name}:?set {name} in the deploying shell}}"


@pytest.mark.lint
@pytest.mark.parametrize("variant", SWARM_EDGE, ids=[v.id for v in SWARM_EDGE])
def test_docker_stack_config_accepts_the_stack(render, variant):
    project = render(variant)
    spec = spec_of(project)
    # Credentials the stack reads from the deploying shell (runtimes without <NAME>_FILE support).
    env = {} if spec["secret_files"] else dict.fromkeys(spec["secret_env"], "placeholder")
    proc = stack_config(project / "deploy" / "swarm" / "stack.yaml", env)
    assert proc.returncode == 0, proc.stderr
    loaded = yaml.safe_load(proc.stdout)
    assert loaded["services"]["app"]["deploy"]["replicas"] == spec["scaling"]["replicas"]
    assert "WARN" not in proc.stderr.upper() and "ignor" not in proc.stderr.lower(), proc.stderr


def stack_config_files(paths: list[Path], env: dict | None = None) -> subprocess.CompletedProcess:
    files = [arg for path in paths for arg in ("--compose-file", str(path))]
    return subprocess.run(
        [str(tools.docker_cli()), "stack", "config", *files],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


SWARM_DEV = [v for v in SWARM_EDGE if v.data_services]


@pytest.mark.lint
@pytest.mark.parametrize("variant", SWARM_DEV, ids=[v.id for v in SWARM_DEV])
def test_dev_stack_adds_hardened_instances_the_app_reaches(render, variant):
    """stack.dev.yaml on top of stack.yaml (merged by Docker's own loader): one hardened replica per
    data service, and every setting of the app and its migration naming an instance of the stack."""
    project = render(variant)
    spec = spec_of(project)
    derived = EXT.derive(yaml.safe_load((project / ".copier-answers.yml").read_text()))
    swarm = project / "deploy" / "swarm"
    dev = yaml.safe_load((swarm / "stack.dev.yaml").read_text())
    assert schema_errors(dev) == []
    env = {} if spec["secret_files"] else dict.fromkeys(spec["secret_env"], "placeholder")
    proc = stack_config_files([swarm / "stack.yaml", swarm / "stack.dev.yaml"], env)
    assert proc.returncode == 0, proc.stderr
    assert "WARN" not in proc.stderr.upper() and "ignor" not in proc.stderr.lower(), proc.stderr
    merged = yaml.safe_load(proc.stdout)["services"]
    services = {svc["host"]: svc for svc in derived["services"]}
    assert set(merged) == {"app", *services} | ({"migrate"} if migrates(variant) else set())
    for host, svc in services.items():
        instance = merged[host]
        uid = svc["dev"]["uid"]
        assert instance["user"] == f"{uid}:{uid}" and uid != 0
        assert instance["read_only"] is True and instance["cap_drop"] == ["ALL"]
        assert not set(instance) & IGNORED_BY_SWARM
        assert instance["deploy"]["replicas"] == 1 and "resources" in instance["deploy"]
        assert instance["healthcheck"]["test"][1:] == svc["dev"]["probe"]
        mounts = {(m["type"], m["target"]) for m in instance.get("volumes", [])}
        assert {("tmpfs", d) for d in svc["dev"]["writable_dirs"]} <= mounts
        assert (svc["data_dir"] is None) or ("volume", svc["data_dir"]) in mounts
    app = merged["app"]["environment"]
    for svc in services.values():
        if svc["secret"] and spec["secret_files"]:
            # read from a Swarm secret; the header says how to create it with the dev URL
            assert app[f"{svc['env']}_FILE"] == f"/run/secrets/{svc['env']}"
            assert svc["dev_url"] in (swarm / "stack.dev.yaml").read_text()
        else:
            assert app[svc["env"]] == svc["dev_url"], svc["env"]
            assert f"{svc['host']}:{svc['port']}" in svc["dev_url"]
    if migrates(variant) and not spec["secret_files"]:
        assert merged["migrate"]["environment"]["DATABASE_URL"] == services["postgres"]["dev_url"]


@pytest.mark.lint
def test_swarm_checks_catch_a_broken_stack(render, tmp_path):
    # a stack with secrets mounted as files (the mode mutation below)
    project = render(
        next(v for v in SWARM_EDGE if EXT.catalog.RUNTIMES[v.runtime].get("secret_files") and v.data_services)
    )
    stack, spec = swarm_stack(project), spec_of(project)
    for mutate, expected in [
        (lambda s: s["services"]["app"].pop("read_only"), "read_only"),
        (lambda s: s["services"]["app"].__setitem__("user", "0"), "non-root"),
        (lambda s: s["services"]["app"].__setitem__("cap_drop", ["NET_RAW"]), "cap_drop"),
        (lambda s: s["services"]["app"]["deploy"].pop("rollback_config"), "rollback_config"),
        (lambda s: s["services"]["app"].__setitem__("restart", "always"), "Swarm ignores"),
        (lambda s: s["services"]["app"]["secrets"][0].__setitem__("mode", 0o444), "world-readable"),
    ]:
        broken = copy.deepcopy(stack)
        mutate(broken)
        assert any(expected in v for v in stack_violations(broken, spec)), expected
    misspelt = copy.deepcopy(stack)
    misspelt["services"]["app"]["deploy"]["replica"] = 2
    assert any("replica" in error for error in schema_errors(misspelt))
    path = tmp_path / "stack.yaml"
    path.write_text(yaml.safe_dump(misspelt))
    assert stack_config(path).returncode != 0, "docker stack config must reject an unknown key"
