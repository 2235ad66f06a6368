"""The Nomad job: parsed with python-hcl2, its structure and hardening checked, its format unchanged by
the HCL formatter (`terraform fmt`, the hclwrite formatter `nomad fmt` uses too), and its only Go
template the consul-template block that reads credentials from Nomad Variables.
"""

from __future__ import annotations

import copy
import re
import subprocess
from pathlib import Path

import hcl2
import pytest
import yaml

from matrix import all_variants, edge_variants, load_extension, migrates
from renderings import NOMAD_OPTIONS, nomad_job, nomad_tasks, template_data, template_env_names
from support import tools

EXT = load_extension()
NOMAD = [v for v in all_variants() if v.orchestrator == "nomad"]
NOMAD_EDGE = [v for v in edge_variants() if v.orchestrator == "nomad"]
CONSUL_TEMPLATE = re.compile(
    r"\{\{-? (?:"
    r'with nomadVar "nomad/jobs/[a-z0-9-]+"|with secret "kv/data/[a-z0-9-]+"|end|\.[A-Za-z_.]+'
    r") -?\}\}"
)


def spec_of(project: Path) -> dict:
    return EXT.derive(yaml.safe_load((project / ".copier-answers.yml").read_text()))["service_spec"]


def job_violations(job: dict, spec: dict, slug: str) -> list[str]:
    """What keeps the parsed job from the golden path; an empty list is a pass."""
    found = []

    def need(condition, message):
        if not condition:
            found.append(message)

    need(job.get("type") == "service", "job type must be service")
    update = (job.get("update") or [{}])[0]
    for key, value in {
        "canary": 1,
        "auto_revert": True,
        "auto_promote": True,
        "health_check": "checks",
    }.items():
        need(update.get(key) == value, f"update.{key} must be {value!r}")
    groups = job.get("group") or [{}]
    need(len(groups) == 1 and "app" in groups[0], "one group named app")
    group = groups[0].get("app", {})
    need(group.get("count") == spec["scaling"]["replicas"], "group count")
    ports = (group.get("network") or [{}])[0].get("port") or [{}]
    need(ports[0].get("http", {}).get("to") == spec["port"], "network port http -> the app's port")
    need("restart" in group, "group restart policy")
    services = group.get("service") or [{}]
    service = services[0]
    need(
        service.get("name") == slug and service.get("port") == "http", "service named after the job, on http"
    )
    checks = {check.get("name"): check for check in service.get("check", [])}
    for name, probe in (("alive", "liveness"), ("ready", "readiness")):
        check = checks.get(name, {})
        need(check.get("type") == "http", f"check {name} must be http")
        need(check.get("path") == spec["probes"][probe]["path"], f"check {name} path")
    need("check_restart" in checks.get("alive", {}), "liveness check restarts the task")
    tasks = {name: body for task in group.get("task", []) for name, body in task.items()}
    need("app" in tasks, "task app")
    for name, task in tasks.items():
        config = (task.get("config") or [{}])[0]
        need(task.get("driver") == "docker", f"{name}: docker driver")
        need(task.get("user") == f"{spec['uid']}:{spec['uid']}", f"{name}: non-root numeric user")
        need(config.get("readonly_rootfs") is True, f"{name}: readonly_rootfs")
        need(config.get("cap_drop") == ["all"], f"{name}: cap_drop all")
        need("no-new-privileges" in config.get("security_opt", []), f"{name}: no-new-privileges")
        need(config.get("image") == spec["image"], f"{name}: image")
        resources = (task.get("resources") or [{}])[0]
        need(resources == spec["nomad_resources"], f"{name}: resources")
        for template in task.get("template", []):
            need(str(template.get("destination", "")).startswith("secrets/"), f"{name}: template in secrets/")
            need(template.get("env") is True, f"{name}: template sets env")
            need(f'nomadVar "nomad/jobs/{slug}"' in template_data(template), f"{name}: Nomad Variables path")
    if "app" in tasks:
        mounts = (tasks["app"].get("config") or [{}])[0].get("mount", [])
        need(
            {m.get("target") for m in mounts if m.get("type") == "tmpfs"} == set(spec["tmp_dirs"]),
            "tmpfs mounts",
        )
    return found


def variant_job(project: Path) -> tuple[str, dict, dict]:
    name, job = nomad_job(project)
    return name, job, spec_of(project)


@pytest.mark.render
@pytest.mark.parametrize("variant", NOMAD, ids=[v.id for v in NOMAD])
def test_nomad_job_parses_and_is_hardened(render, variant):
    project = render(variant)
    slug, job, spec = variant_job(project)
    assert slug == yaml.safe_load((project / ".copier-answers.yml").read_text())["project_slug"]
    assert (project / "deploy" / "nomad" / f"{slug}.nomad.hcl").is_file()
    assert job_violations(job, spec, slug) == []
    tasks = nomad_tasks(job)
    assert set(tasks) == ({"app", "migrate"} if migrates(variant) else {"app"})
    if "migrate" in tasks:
        assert tasks["migrate"]["lifecycle"] == [{"hook": "prestart", "sidecar": False}]
    app = tasks["app"]
    env = app["env"][0]
    assert env == spec["plain_env"], "plain settings in the env block, with their production values"
    secrets = [name for template in app.get("template", []) for name in template_env_names(template)]
    assert secrets == spec["secret_env"], "credentials only through the Nomad Variables template"
    assert not set(env) & set(secrets)


@pytest.mark.render
@pytest.mark.parametrize("variant", NOMAD, ids=[v.id for v in NOMAD])
def test_go_templates_in_the_job_are_only_consul_template(render, variant):
    text = next((render(variant) / "deploy" / "nomad").glob("*.nomad.hcl")).read_text()
    for expression in re.findall(r"\{\{.*?\}\}", text):
        assert CONSUL_TEMPLATE.fullmatch(expression), expression
    assert "${" not in text.replace("$${", ""), "HCL interpolation would expand at submit time"


@pytest.mark.lint
@pytest.mark.parametrize("variant", NOMAD_EDGE, ids=[v.id for v in NOMAD_EDGE])
def test_nomad_job_is_formatted(render, variant):
    """`nomad fmt` and `terraform fmt` share hclwrite's formatter: the job passes it unchanged."""
    terraform = str(tools.terraform())
    job = next((render(variant) / "deploy" / "nomad").glob("*.nomad.hcl"))
    proc = subprocess.run(
        [terraform, "fmt", "-"],
        input=job.read_text(),
        capture_output=True,
        text=True,
        env=tools.terraform_env(),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == job.read_text()


@pytest.mark.lint
def test_nomad_checks_catch_a_broken_job(render, tmp_path):
    project = render(NOMAD_EDGE[-1])
    slug, job, spec = variant_job(project)
    for mutate, expected in [
        (lambda j: nomad_tasks(j)["app"]["config"][0].pop("readonly_rootfs"), "readonly_rootfs"),
        (lambda j: nomad_tasks(j)["app"].pop("user"), "non-root"),
        (lambda j: nomad_tasks(j)["app"]["config"][0].__setitem__("cap_drop", ["net_raw"]), "cap_drop"),
        (lambda j: j["update"][0].pop("auto_revert"), "auto_revert"),
        (lambda j: next(iter(j["group"][0].values()))["service"][0]["check"].pop(), "check ready"),
        (lambda j: nomad_tasks(j)["app"]["resources"][0].__setitem__("memory", 64), "resources"),
    ]:
        broken = copy.deepcopy(job)
        mutate(broken)
        assert any(expected in v for v in job_violations(broken, spec, slug)), expected
    # a syntax error does not parse, and a misaligned file is not formatted
    source = next((project / "deploy" / "nomad").glob("*.nomad.hcl")).read_text()
    with pytest.raises(Exception):  # noqa: B017 (python-hcl2 raises lark errors)
        hcl2.loads(
            source.replace('type        = "service"', 'type        = "service'),
            serialization_options=NOMAD_OPTIONS,
        )
    terraform = str(tools.terraform())
    misaligned = source.replace('type        = "service"', 'type = "service"')
    proc = subprocess.run(
        [terraform, "fmt", "-"], input=misaligned, capture_output=True, text=True, env=tools.terraform_env()
    )
    assert proc.stdout != misaligned
