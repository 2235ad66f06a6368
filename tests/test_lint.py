"""Lint tier: each generated artifact passes its own linters and our policy, per the answers it uses."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import promql_parser
import pytest
import yaml

from kube import validate_manifests, violations
from matrix import DEFAULT, ROOT, edge_variants, implemented, load_extension
from renderings import kustomize
from support import tools
from support.tools import run
from support.tools import venv_tool as tool

pytestmark = pytest.mark.lint

VARIANTS = edge_variants()
EXT = load_extension()
BIN = Path(sys.executable).parent


def by(axis: str):
    """One variant per value of `axis`, with no data services and with all of them."""
    seen, picked = set(), []
    for variant in VARIANTS:
        key = (getattr(variant, axis), variant.data_services)
        if key not in seen:
            seen.add(key)
            picked.append(variant)
    return pytest.mark.parametrize("variant", picked, ids=[v.id for v in picked])


def kubernetes_version(project: Path) -> str:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())["kubernetes_version"]


# --- runtime-dependent -----------------------------------------------------------------------------


@by("runtime")
def test_dockerfile_is_hadolint_clean(render, variant):
    app = render(variant) / "app"
    proc = run([tool("hadolint"), "--no-color", "Dockerfile"], cwd=app)
    assert proc.stdout.strip() == "", proc.stdout


@by("runtime")
def test_dockerfile_is_hardened(render, variant):
    text = (render(variant) / "app" / "Dockerfile").read_text()
    froms = [line.split()[1] for line in text.splitlines() if line.startswith("FROM ")]
    assert len(froms) >= 2, "multi-stage build expected"
    for image in froms:
        assert ":" in image and not image.endswith(":latest"), f"unpinned base image {image}"
    users = [line for line in text.splitlines() if line.startswith("USER ")]
    assert users and users[-1].split()[1] == "10001:10001", "final stage must run as the numeric UID"
    assert "HEALTHCHECK" in text
    assert "COPY --link" not in text and "<<" not in text, "buildah 1.28 rejects heredocs and COPY --link"


# --- whole repo ------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_yaml_is_yamllint_clean(render, variant):
    project = render(variant)
    run([tool("yamllint"), "--strict", "."], cwd=project)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_workflow_is_actionlint_clean(render, variant):
    project = render(variant)
    workflows = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert workflows
    env = {**shutil.os.environ, "PATH": f"{BIN}:{shutil.os.environ.get('PATH', '')}"}
    tool("shellcheck")  # actionlint checks `run:` scripts with it when it is on PATH
    run([tool("actionlint"), "-no-color", *map(str, workflows)], cwd=project, env=env)


def gitlab_variants() -> list:
    """One variant per runtime, per orchestrator and per cloud (with all services), on GitLab CI."""
    seen, picked = set(), []
    for variant in VARIANTS:
        keys = {(axis, getattr(variant, axis)) for axis in ("runtime", "orchestrator", "cloud")}
        if variant.data_services and not variant.extra and keys - seen:
            seen |= keys
            picked.append(variant)
    return picked


GITLAB = gitlab_variants()
# GitLab reserves `image` as a top-level keyword: the GitHub job of that name is `app-image` there.
GITLAB_JOB = {"image": "app-image"}
GITLAB_KEYWORDS = {"workflow", "default", "stages", "variables", "include", "spec"}


@pytest.mark.parametrize("variant", GITLAB, ids=[v.id for v in GITLAB])
def test_gitlab_ci_is_valid_and_has_the_github_jobs(render, variant, tmp_path):
    """GitLab's CI schema (as check-jsonschema vendors it) accepts the file, yamllint passes, every
    job's shell passes shellcheck, and the jobs are the GitHub workflow's for the same answers."""
    project = render({**variant.answers, "ci_provider": "gitlab"})
    path = project / ".gitlab-ci.yml"
    run([tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(path)], cwd=project)
    run([tool("yamllint"), "--strict", str(path)], cwd=project)
    pipeline = yaml.safe_load(path.read_text())
    jobs = {name: job for name, job in pipeline.items() if name not in GITLAB_KEYWORDS}
    github = yaml.safe_load((render(variant) / ".github" / "workflows" / "ci.yml").read_text())
    assert set(jobs) == {GITLAB_JOB.get(name, name) for name in github["jobs"]}
    assert {job["stage"] for job in jobs.values()} <= set(pipeline["stages"])
    for name, job in jobs.items():
        script = tmp_path / f"{name}.sh"
        # GitLab runs before_script and script in one shell, stopping at the first failure
        script.write_text(
            "\n".join(["#!/bin/sh", "set -e", *job.get("before_script", []), *job["script"], ""])
        )
        run([tool("shellcheck"), "--shell=sh", str(script)], cwd=project)


@pytest.mark.parametrize("ci_provider", ["github", "gitlab"])
def test_renovate_config_matches_renovates_schema(render, ci_provider, tmp_path):
    """renovate.json passes Renovate's own validator and JSON schema (check-jsonschema's vendored
    copy), pins images to digests and, on GitHub, actions to commit SHAs; a wrong value is refused
    by both."""
    project = render({**DEFAULT.answers, "cloud": "aws", "ci_provider": ci_provider})
    path = project / "renovate.json"
    run(tools.renovate_validator(), cwd=project)
    run([tool("check-jsonschema"), "--builtin-schema", "vendor.renovate", str(path)], cwd=project)
    config = json.loads(path.read_text())
    assert "docker:pinDigests" in config["extends"]
    assert ("helpers:pinGitHubActionDigests" in config["extends"]) == (ci_provider == "github")
    broken = tmp_path / "renovate.json"
    broken.write_text(json.dumps({**config, "lockFileMaintenance": "weekly"}))
    refused = subprocess.run(
        tools.renovate_validator(), cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0 and "lockFileMaintenance" in refused.stdout + refused.stderr
    proc = subprocess.run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.renovate", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0


# Renovate 44 wants Node 22: execa calls Set.prototype.union on import. This machine's Node 20 gets
# that one method; Renovate's own code does the rest.
RENOVATE_HEADER = """
Set.prototype.union ??= function (other) { return new Set([...this, ...other]); };
const [manager, file] = process.argv.slice(1);
const { extractHeaderCommand } = await import(`${manager}/common.js`);
const { inferCommandExecDir } = await import(`${manager}/utils.js`);
const { readFileSync } = await import("node:fs");
const header = extractHeaderCommand(readFileSync(file, "utf8"), file);
const dir = inferCommandExecDir(file, header.outputFile);
console.log(JSON.stringify({ ...header, dir }));
"""


@pytest.mark.parametrize("runtime", implemented("runtime"))
def test_renovate_maintains_the_lockfiles_it_is_given(render, runtime):
    """Each manager the runtime's row adds to renovate.json finds its files in the project, and
    Renovate's own pip-compile parser accepts the lockfile's header: it can re-run `make lock`."""
    project = render({**DEFAULT.answers, "runtime": runtime})
    config = json.loads((project / "renovate.json").read_text())
    row = EXT.catalog.RUNTIMES[runtime]
    files = [p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()]
    for manager in row.get("renovate", {}):
        patterns = [re.compile(p.strip("/")) for p in config[manager]["managerFilePatterns"]]
        matched = [f for f in files if any(pattern.search(f) for pattern in patterns)]
        assert matched == [f"app/{name}" for name in row["lockfiles"]], manager
        if manager == "pip-compile":
            tree = Path(tools.renovate_validator()[0]).parents[1] / "renovate"
            module = tree / "dist" / "modules" / "manager" / "pip-compile"
            for name in matched:
                out = run(
                    ["node", "--input-type=module", "-e", RENOVATE_HEADER, str(module), name], cwd=project
                )
                header = json.loads(out.stdout.splitlines()[-1])
                # Renovate runs the header's command where `make lock` does: in app/.
                assert header["commandType"] == "uv" and header["dir"] == "app"
                assert all((project / "app" / source).is_file() for source in header["sourceFiles"])


# --- supply chain: what the generated CI does with the image -----------------------------------------

PINNED = re.compile(r"^([\w.-]+/[\w.-]+)@[0-9a-f]{40}  # v\d+\.\d+\.\d+$")


@pytest.mark.parametrize("cloud", ["aws", "gcp", "azure"])
def test_workflow_pins_actions_and_ships_a_scanned_signed_image(render, cloud):
    """Every action is pinned to a commit (its release in a comment); the image is scanned (fixable
    criticals fail), described by an SBOM, and, when pushed, attested and signed; release tags push
    their version after checking the deploy files name it, and become a GitHub release."""
    project = render({**DEFAULT.answers, "cloud": cloud})
    path = project / ".github" / "workflows" / "ci.yml"
    uses = re.findall(r"^\s+(?:- )?uses: (.+)$", path.read_text(), re.M)
    assert uses
    for ref in uses:
        match = PINNED.match(ref)
        assert match and match.group(1) in EXT.catalog.GITHUB_ACTIONS, ref
    workflow = yaml.safe_load(path.read_text())
    assert workflow[True]["push"]["tags"] == ["v*.*.*"]  # YAML 1.1 reads the key `on` as true
    image = workflow["jobs"]["image"]
    assert image["permissions"]["id-token"] == "write" and image["permissions"]["attestations"] == "write"
    steps = image["steps"]

    def step(action: str = "", name: str = "") -> int:
        """Index of the (last) step that uses `action` or is called `name`."""
        found = [
            i
            for i, s in enumerate(steps)
            if (action and s.get("uses", "").startswith(action + "@")) or s.get("name") == name
        ]
        assert found, action or name
        return found[-1]

    scan = steps[step("aquasecurity/trivy-action")]["with"]
    assert (scan["severity"], scan["ignore-unfixed"], scan["exit-code"]) == ("CRITICAL", True, "1")
    assert steps[step("anchore/sbom-action")]["with"]["format"] == "spdx-json"
    assert steps[step("actions/attest-build-provenance")]["with"]["push-to-registry"] is True
    sign = steps[step(name="Sign, and attest the SBOM (keyless, Sigstore)")]["run"]
    assert 'cosign sign --yes "$IMAGE"' in sign and "--predicate sbom.spdx.json" in sign
    assert "release-version --check" in steps[step(name="The deploy files name the release")]["run"]
    push = step(name="Push")
    assert steps[push]["with"]["push"] is True and steps[push]["if"] == "env.PUSH == 'true'"
    assert step("aquasecurity/trivy-action") < push < step("actions/attest-build-provenance")
    release = workflow["jobs"]["release"]
    assert release["needs"] == "image" and release["if"] == "startsWith(github.ref, 'refs/tags/v')"


def test_gitlab_pipeline_ships_a_scanned_signed_image(render):
    project = render({**DEFAULT.answers, "ci_provider": "gitlab"})
    pipeline = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
    assert any("CI_COMMIT_TAG" in rule["if"] for rule in pipeline["workflow"]["rules"])
    job = pipeline["app-image"]
    assert job["id_tokens"]["SIGSTORE_ID_TOKEN"]["aud"] == "sigstore"
    script = "\n".join(job["script"])
    assert "trivy image --scanners vuln --severity CRITICAL --ignore-unfixed --exit-code 1" in script
    assert "--format spdx-json" in script and 'cosign sign --yes "$image"' in script
    assert script.index("--exit-code 1") < script.index("docker push") < script.index("cosign sign")
    assert "release-version --check" in script
    release = pipeline["release"]
    assert release["release"]["tag_name"] == "$CI_COMMIT_TAG" and release["needs"] == ["app-image"]


@pytest.mark.parametrize("orchestrator", ["kubernetes", "helm", "nomad", "swarm"])
def test_release_version_moves_every_deploy_file_and_the_tag_check(render, orchestrator, tmp_path):
    """scripts/release-version: the check passes for the version the files name and fails, naming
    the lines, for another; setting one moves the image tag, SERVICE_VERSION, the chart and the
    image label, after which the check passes and the deployed image is that version."""
    project = tmp_path / "project"
    shutil.copytree(render({**DEFAULT.answers, "orchestrator": orchestrator}), project, symlinks=True)
    script = project / "scripts" / "release-version"
    check = run([tool("shellcheck"), str(script)], cwd=project)
    assert check.returncode == 0
    initial = EXT.catalog.INITIAL_VERSION
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    repository = f"{answers['image_registry']}/{answers['project_slug']}"
    assert subprocess.run([str(script), "--check", initial], cwd=project, check=False).returncode == 0
    stale = subprocess.run([str(script), "--check", "9.8.7"], cwd=project, capture_output=True, text=True)
    assert stale.returncode == 1 and "deploy/" in stale.stderr and "app/Dockerfile" in stale.stderr
    assert subprocess.run([str(script), "9.8.7"], cwd=project, check=False).returncode == 0
    assert subprocess.run([str(script), "--check", "9.8.7"], cwd=project, check=False).returncode == 0
    assert (
        subprocess.run([str(script), "--check", "9.8.70"], cwd=project, capture_output=True).returncode == 1
    )
    deploy = "\n".join(p.read_text() for p in sorted((project / "deploy").rglob("*")) if p.is_file())
    assert initial not in re.sub(r"name-" + re.escape(initial), "", deploy)
    assert 'org.opencontainers.image.version="9.8.7"' in (project / "app" / "Dockerfile").read_text()
    if orchestrator == "kubernetes":
        images = {
            c["image"]
            for doc in kustomize(project / "deploy" / "kubernetes" / "overlays" / "prod")
            if doc["kind"] == "Deployment"
            for c in doc["spec"]["template"]["spec"]["containers"]
        }
        assert images and all(image.endswith(":9.8.7") for image in images), images
    elif orchestrator == "helm":
        (chart,) = (project / "deploy" / "helm").glob("*/Chart.yaml")
        assert yaml.safe_load(chart.read_text())["appVersion"] == "9.8.7"
    else:
        assert f"{repository}:9.8.7" in deploy and f"{repository}:{initial}" not in deploy


# --- the container engine the Makefile runs ---------------------------------------------------------

# Stand-ins for the engines: each records how it was called and answers as the state asks.
STUB = """#!/bin/bash
echo "${0##*/} $*" >> "$CALLS"
case "${0##*/} $1 $2" in
  "docker info "*) exit "${DOCKER_DAEMON:-0}" ;;
  "docker compose version") exit "${DOCKER_COMPOSE:-0}" ;;
  "podman compose version") exit "${PODMAN_COMPOSE:-0}" ;;
esac
"""
ENGINE_STATES = {
    # state: (installed stand-ins, their answers, what `compose up --wait` runs or the message shown)
    "nothing": ((), {}, "no container engine: install Docker"),
    "docker, daemon down": (
        ("docker",),
        {"DOCKER_DAEMON": "1"},
        "Docker is installed but its daemon does not answer",
    ),
    "docker, no compose": (("docker",), {"DOCKER_COMPOSE": "1"}, "Docker has no compose plugin"),
    "docker": (("docker",), {}, "docker compose up --wait"),
    "docker down, podman": (("docker", "podman"), {"DOCKER_DAEMON": "1"}, "podman compose up --wait"),
    "podman": (("podman",), {}, "podman compose up --wait"),
    "podman, podman-compose": (("podman", "podman-compose"), {"PODMAN_COMPOSE": "1"}, "podman-compose up"),
    "podman, no provider": (("podman",), {"PODMAN_COMPOSE": "1"}, "Podman has no compose provider"),
}


@pytest.mark.parametrize("state", ENGINE_STATES)
def test_container_engine_runs_what_works_or_says_what_is_missing(render, tmp_path, state):
    installed, answers, expected = ENGINE_STATES[state]
    script = render(DEFAULT) / "scripts" / "container-engine"
    run([tool("shellcheck"), str(script)], cwd=script.parent)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bash").symlink_to(shutil.which("bash"))
    for name in installed:
        (bin_dir / name).write_text(STUB)
        (bin_dir / name).chmod(0o755)
    calls = tmp_path / "calls"
    calls.touch()
    env = {"PATH": str(bin_dir), "CALLS": str(calls), **answers}
    proc = subprocess.run(
        [str(script), "compose", "up", "--wait"], env=env, capture_output=True, text=True, check=False
    )
    ran = calls.read_text().splitlines()
    if expected.split()[0] in ("docker", "podman", "podman-compose"):
        assert proc.returncode == 0, proc.stderr
        assert ran[-1] == expected, ran
        if "down" in state:
            assert "Docker's daemon does not answer" in proc.stderr, "the switch to Podman is said"
    else:
        assert proc.returncode == 1 and expected in proc.stderr, proc.stderr
        assert not any(call.endswith("up --wait") for call in ran), "nothing half-runs"
    if state == "podman":
        subprocess.run([str(script), "build", "app"], env=env, check=True)
        assert calls.read_text().splitlines()[-1] == "podman build --format docker app", "keeps HEALTHCHECK"


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_makefile_targets_parse(render, variant):
    project = render(variant)
    proc = run(["make", "-n", "install", "lint", "test", "image", "manifests"], cwd=project)
    assert "cd app" in proc.stdout
    tool = {"kubernetes": "kubectl", "helm": "helm", "nomad": "nomad", "swarm": "docker"}[
        variant.orchestrator
    ]
    assert proc.stdout.splitlines()[-1].startswith(f"{tool} "), "make manifests checks the deploy files"


def test_template_scripts_are_shellcheck_clean():
    scripts = [ROOT / ".ci" / "run", *sorted((ROOT / "scripts").glob("*.sh")), ROOT / "scripts" / "test"]
    run([tool("shellcheck"), *map(str, scripts)], cwd=ROOT)


# --- orchestrator: kubernetes ----------------------------------------------------------------------


# The manifests do not depend on the cloud: lint them once per data-service set.
KUBE = [v for v in VARIANTS if v.orchestrator == "kubernetes" and v.cloud == DEFAULT.cloud]


@pytest.mark.parametrize("variant", KUBE, ids=[v.id for v in KUBE])
@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlays_are_schema_valid_and_restricted(render, variant, overlay, tmp_path):
    project = render(variant)
    docs = kustomize(project / "deploy" / "kubernetes" / "overlays" / overlay)
    proc = validate_manifests(docs, kubernetes_version(project), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert violations(docs) == []
    kinds = {doc["kind"] for doc in docs}
    assert {
        "Namespace",
        "Deployment",
        "Service",
        "ServiceAccount",
        "ConfigMap",
        "NetworkPolicy",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    } <= kinds
    namespace = next(doc for doc in docs if doc["kind"] == "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    if overlay == "dev":
        statefulsets = {doc["metadata"]["name"] for doc in docs if doc["kind"] == "StatefulSet"}
        assert statefulsets == set(variant.data_services)


@pytest.mark.parametrize("variant", KUBE, ids=[v.id for v in KUBE])
def test_deployment_env_refs_resolve(render, variant):
    """Every env var of the app resolves to a key of a ConfigMap or Secret the overlay creates."""
    project = render(variant)
    docs = kustomize(project / "deploy" / "kubernetes" / "overlays" / "dev")
    data = {
        (doc["kind"], doc["metadata"]["name"]): set(doc.get("data", {}))
        for doc in docs
        if doc["kind"] in {"ConfigMap", "Secret"}
    }
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    names = []
    for env in container["env"]:
        names.append(env["name"])
        ref = env["valueFrom"]
        if "resourceFieldRef" in ref:  # the worker count: the container's own CPU limit, in cores
            assert ref == {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1"}}, env
            assert container["resources"]["limits"]["cpu"], "a CPU limit to read"
            continue
        kind, key = (
            ("ConfigMap", "configMapKeyRef") if "configMapKeyRef" in ref else ("Secret", "secretKeyRef")
        )
        target = ref[key]
        assert target["key"] in data[(kind, target["name"])], env["name"]
    services = [EXT.catalog.DATA_SERVICES[key]["env"] for key in variant.data_services]
    tracing = ["OTEL_EXPORTER_OTLP_ENDPOINT"] if dict(variant.extra).get("observability", True) else []
    common = ["PORT", "LOG_LEVEL", "SERVICE_NAME", "SERVICE_VERSION", "READY_TIMEOUT_SECONDS"]
    workers = [EXT.catalog.RUNTIMES[variant.runtime].get("workers_env")]
    assert names == [*common, *tracing, *services, *filter(None, workers)]
    egress_ports = {
        port["port"]
        for doc in docs
        if doc["kind"] == "NetworkPolicy"
        for rule in doc["spec"].get("egress", [])
        for port in rule.get("ports", [])
    }
    assert egress_ports >= {EXT.catalog.DATA_SERVICES[key]["port"] for key in variant.data_services}


def test_schema_validation_catches_a_misspelt_field(render, tmp_path):
    """The check above can fail: a typo in a pod spec is rejected by kubernetes-validate --strict."""
    project = render(KUBE[0])
    docs = kustomize(project / "deploy" / "kubernetes" / "overlays" / "dev")
    broken = copy.deepcopy(docs)
    deployment = next(doc for doc in broken if doc["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    assert validate_manifests(broken, kubernetes_version(project), tmp_path).returncode != 0


def test_policy_catches_an_unhardened_pod(render):
    project = render(KUBE[0])
    docs = kustomize(project / "deploy" / "kubernetes" / "overlays" / "dev")
    for mutate, expected in [
        (lambda c, p: c["securityContext"].pop("readOnlyRootFilesystem"), "readOnlyRootFilesystem"),
        (
            lambda c, p: c["securityContext"].__setitem__("allowPrivilegeEscalation", True),
            "allowPrivilegeEscalation",
        ),
        (lambda c, p: p["securityContext"].pop("runAsNonRoot"), "runAsNonRoot"),
        (lambda c, p: p["securityContext"].pop("seccompProfile"), "seccompProfile"),
        (lambda c, p: c["securityContext"]["capabilities"].__setitem__("drop", []), 'drop=["ALL"]'),
        (lambda c, p: c.pop("resources"), "resources"),
        (lambda c, p: p.__setitem__("hostNetwork", True), "hostNetwork"),
    ]:
        broken = copy.deepcopy(docs)
        deployment = next(doc for doc in broken if doc["kind"] == "Deployment")
        pod = deployment["spec"]["template"]["spec"]
        mutate(pod["containers"][0], pod)
        assert any(expected in v for v in violations(broken)), expected


def test_template_python_is_ruff_clean():
    sources = [
        *sorted((ROOT / "tests").glob("*.py")),
        *sorted((ROOT / "tests" / "support").glob("*.py")),
        *sorted((ROOT / "scripts").glob("*.py")),
        ROOT / "extensions",
    ]
    run([tool("ruff"), "check", "--no-cache", *map(str, sources)], cwd=ROOT)
    run([tool("ruff"), "format", "--no-cache", "--check", *map(str, sources)], cwd=ROOT)


# --- observability -----------------------------------------------------------------------------------

METRICS = {"http_requests_total", "http_request_duration_seconds_bucket", "app_dependency_up"}
METRIC_REF = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{|\[)")
OBSERVED = [v for v in VARIANTS if dict(v.extra).get("observability", True)]


def check_promql(expr: str) -> set[str]:
    """Parse a PromQL expression; return the metric names it reads."""
    promql_parser.parse(expr)
    return set(METRIC_REF.findall(expr)) - {"by", "without", "rate", "sum", "min", "histogram_quantile"}


def test_promql_check_can_fail():
    with pytest.raises(Exception):  # noqa: B017 - the parser raises its own error type
        check_promql("sum(rate(http_requests_total[5m])")
    assert check_promql('rate(http_requests_total{job="x"}[5m])') == {"http_requests_total"}


@pytest.mark.parametrize("variant", OBSERVED, ids=[v.id for v in OBSERVED])
def test_dashboard_queries_parse_and_read_real_metrics(render, variant):
    dashboard = json.loads((render(variant) / "observability" / "grafana-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert len(exprs) >= 4
    for expr in exprs:
        assert check_promql(expr) <= METRICS, expr


@pytest.mark.parametrize(
    "variant",
    [v for v in OBSERVED if v.orchestrator == "kubernetes"],
    ids=[v.id for v in OBSERVED if v.orchestrator == "kubernetes"],
)
def test_prod_overlay_scrapes_and_alerts(render, variant):
    project = render(variant)
    docs = kustomize(project / "deploy" / "kubernetes" / "overlays" / "prod")
    (service,) = [doc for doc in docs if doc["kind"] == "Service"]
    monitor = next(doc for doc in docs if doc["kind"] == "ServiceMonitor")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert {p["name"] for p in service["spec"]["ports"]} >= {e["port"] for e in monitor["spec"]["endpoints"]}
    # Istio: the metrics its agent merges (tests/test_mesh.py)
    mesh = EXT.derive(yaml.safe_load((project / ".copier-answers.yml").read_text()))["mesh"]
    assert monitor["spec"]["endpoints"][0]["path"] == mesh["metrics"].get("path", "/metrics")
    rules = next(doc for doc in docs if doc["kind"] == "PrometheusRule")
    alerts = [rule for group in rules["spec"]["groups"] for rule in group["rules"]]
    suffixes = {"HighErrorRate", "HighLatency", "NotReady"}
    assert {next(x for x in suffixes if alert["alert"].endswith(x)) for alert in alerts} == suffixes
    for alert in alerts:
        assert check_promql(alert["expr"]) <= METRICS, alert["expr"]
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    env = {e["name"] for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in env
