"""Read the app's service spec back out of each rendered deployment, in one normalized shape.

Every `from_<orchestrator>(project)` returns the same dict, so the agreement test can compare compose,
Kubernetes (Kustomize), Helm, Nomad and Swarm with each other and with the spec `derive()` computed:

    image_repository  str             the image, without its tag
    port              int             the port the container listens on
    env               sorted list     the environment variable names the app receives
    health_path       str | None      liveness (restart when failing)
    ready_path        str | None      readiness (no traffic when failing)
    requests          dict            {"cpu_millicores": int, "memory_mib": int}
    uid               int             the numeric user the app runs as
    healthcheck       list | None     the exec-form health-check command (compose, Swarm)
    liveness_timing   dict            {"period": s, "timeout": s} of the liveness check
    readiness_timing  dict            {"period": s, "timeout": s} of the readiness check

A value an orchestrator cannot express at all is None, and `NOT_EXPRESSIBLE` says why.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import hcl2
import yaml

from matrix import load_extension

EXT = load_extension()
FIELDS = (
    "image_repository",
    "port",
    "env",
    "health_path",
    "ready_path",
    "requests",
    "uid",
    "healthcheck",
    "liveness_timing",
    "readiness_timing",
)
COMMAND = "compose and Swarm run the image's health-check command (field healthcheck), not a path"
PROBES = "Kubernetes, Helm and Nomad request the health path over HTTP: there is no command"
NOT_EXPRESSIBLE = {
    "kubernetes": {"healthcheck": PROBES},
    "helm": {"healthcheck": PROBES},
    "nomad": {"healthcheck": PROBES},
    "compose": {
        "health_path": COMMAND,
        "ready_path": "compose has no readiness check; `depends_on` waits for the data services",
        "readiness_timing": "no readiness check (above)",
        "liveness_timing": "compose's check is tuned for a laptop's first start (5 s interval, 20 retries)",
    },
    "swarm": {
        "health_path": COMMAND,
        "ready_path": "Swarm has one health check per task; it gates traffic and restarts",
        "readiness_timing": "no separate readiness check (above)",
    },
}


# --- small parsers ------------------------------------------------------------------------------


def repository(image: str) -> str:
    """'ghcr.io/acme/shop:0.1.0' -> 'ghcr.io/acme/shop' (a registry port stays)."""
    name, _, tag = image.rpartition(":")
    return name if name and "/" not in tag else image


def docker_cpus(value) -> int:
    """Docker's decimal `cpus` ('0.1') in millicores."""
    return round(float(value) * 1000)


def docker_memory_mib(value) -> int:
    """Docker's memory ('128M', '1g', bytes) in MiB; Docker's units are binary."""
    text = str(value).strip().lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([bkmg]?)b?", text)
    assert match, f"unreadable Docker memory {value!r}"
    factor = {"": 1 / 2**20, "b": 1 / 2**20, "k": 1 / 1024, "m": 1, "g": 1024}[match[2]]
    return round(float(match[1]) * factor)


def seconds(value) -> int:
    """'10s' (Nomad, Docker) or 10 in whole seconds."""
    text = str(value).strip()
    match = re.fullmatch(r"(\d+)(s?)", text)
    assert match, f"unreadable duration {value!r}"
    return int(match[1])


def _timing(period, timeout) -> dict:
    return {"period": seconds(period), "timeout": seconds(timeout)}


def _kubernetes_container(docs: list[dict]) -> dict:
    deployments = [doc for doc in docs if doc["kind"] == "Deployment"]
    assert len(deployments) == 1, [d["metadata"]["name"] for d in deployments]
    pod = deployments[0]["spec"]["template"]["spec"]
    container = next(c for c in pod["containers"] if c["name"] == "app")
    uid = container.get("securityContext", {}).get(
        "runAsUser", pod.get("securityContext", {}).get("runAsUser")
    )
    requests = container["resources"]["requests"]
    return {
        "image_repository": repository(container["image"]),
        "port": next(p["containerPort"] for p in container["ports"] if p["name"] == "http"),
        "env": sorted(env["name"] for env in container.get("env", [])),
        "health_path": container["livenessProbe"]["httpGet"]["path"],
        "ready_path": container["readinessProbe"]["httpGet"]["path"],
        "requests": {
            "cpu_millicores": EXT.cpu_millicores(requests["cpu"]),
            "memory_mib": EXT.memory_mib(requests["memory"]),
        },
        "uid": uid,
        "healthcheck": None,
        "liveness_timing": _timing(
            container["livenessProbe"]["periodSeconds"], container["livenessProbe"]["timeoutSeconds"]
        ),
        "readiness_timing": _timing(
            container["readinessProbe"]["periodSeconds"], container["readinessProbe"]["timeoutSeconds"]
        ),
    }


def _compose_service(service: dict) -> dict:
    environment = service.get("environment", {})
    names = environment if isinstance(environment, dict) else dict(e.split("=", 1) for e in environment)
    env = set()
    for name, value in names.items():
        # A credential read from a Swarm secret file still reaches the app under its own name.
        if name.endswith("_FILE") and str(value).startswith("/run/secrets/"):
            name = name.removesuffix("_FILE")
        env.add(name)
    check = service.get("healthcheck", {})
    test = check.get("test")
    reservations = service.get("deploy", {}).get("resources", {}).get("reservations", {})
    return {
        "image_repository": repository(service["image"]),
        "env": sorted(env),
        "health_path": None,
        "ready_path": None,
        "requests": {
            "cpu_millicores": docker_cpus(reservations["cpus"]) if "cpus" in reservations else None,
            "memory_mib": docker_memory_mib(reservations["memory"]) if "memory" in reservations else None,
        },
        "uid": int(str(service["user"]).split(":")[0]) if "user" in service else None,
        # exec form; "$$" is how a compose file writes a literal "$"
        "healthcheck": [arg.replace("$$", "$") for arg in test[1:]] if test and test[0] == "CMD" else None,
        "liveness_timing": _timing(check["interval"], check["timeout"]) if "interval" in check else None,
        "readiness_timing": None,
    }


# --- one function per rendering -------------------------------------------------------------------


def from_compose(project: Path) -> dict:
    app = yaml.safe_load((project / "compose.yaml").read_text())["services"]["app"]
    result = _compose_service(app)
    published = [str(port).rsplit(":", 1)[-1] for port in app.get("ports", [])]
    result["port"] = int(published[0]) if published else None
    result["liveness_timing"] = None  # see NOT_EXPRESSIBLE
    return result


def kustomize(overlay: Path) -> list[dict]:
    """The overlay built by the pinned kustomize (tests/support/tools.py)."""
    from support import tools

    proc = subprocess.run(
        [str(tools.go_tool("kustomize")), "build", str(overlay)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def from_kubernetes(project: Path) -> dict:
    return _kubernetes_container(kustomize(project / "deploy" / "kubernetes" / "overlays" / "dev"))


def chart_dir(project: Path) -> Path:
    charts = sorted((project / "deploy" / "helm").iterdir())
    assert len(charts) == 1, charts
    return charts[0]


def helm_render(
    chart: Path, values: dict | None = None, release: str | None = None, namespace: str = "default"
) -> list[dict]:
    """`helm template` with the Helm 4 library: every manifest (test hooks included), parsed."""
    import helm_python as helm

    with helm.Chart.load(str(chart)) as loaded:
        # The release name the generated docs suggest: the chart name within Helm's 53 characters.
        name = release or chart.name[:53].rstrip("-")
        rendered = loaded.render(values or {}, name=name, namespace=namespace, is_install=True)
    return [
        doc
        for path, text in sorted(rendered.items())
        if path.endswith((".yaml", ".yml"))
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def from_helm(project: Path) -> dict:
    return _kubernetes_container(helm_render(chart_dir(project)))


NOMAD_OPTIONS = hcl2.SerializationOptions(
    with_comments=False, explicit_blocks=False, strip_string_quotes=True, preserve_heredocs=False
)


def nomad_job(project: Path) -> tuple[str, dict]:
    """(job name, job body) of the rendered Nomad job, parsed with python-hcl2."""
    files = sorted((project / "deploy" / "nomad").glob("*.nomad.hcl"))
    assert len(files) == 1, files
    with files[0].open() as handle:
        parsed = hcl2.load(handle, serialization_options=NOMAD_OPTIONS)
    ((name, job),) = parsed["job"][0].items()
    return name, job


def nomad_tasks(job: dict) -> dict[str, dict]:
    (group,) = job["group"][0].values()
    return {name: body for task in group["task"] for name, body in task.items()}


def template_data(template: dict) -> str:
    """The text of a Nomad `template` block (python-hcl2 turns the heredoc into an escaped string)."""
    return template["data"].replace('\\"', '"')


def template_env_names(template: dict) -> list[str]:
    """Variable names a Nomad env template (`NAME={{ ... }}` lines) sets."""
    return re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=", template_data(template), re.M)


def from_nomad(project: Path) -> dict:
    _, job = nomad_job(project)
    (group,) = job["group"][0].values()
    task = nomad_tasks(job)["app"]
    config = task["config"][0]
    env = set(task.get("env", [{}])[0])
    for template in task.get("template", []):
        if template.get("env"):
            env.update(template_env_names(template))
    checks = {check["name"]: check for check in group["service"][0]["check"]}
    (port,) = group["network"][0]["port"][0].values()
    resources = task["resources"][0]
    return {
        "image_repository": repository(config["image"]),
        "port": port["to"],
        "env": sorted(env),
        "health_path": checks["alive"]["path"] if "alive" in checks else None,
        "ready_path": checks["ready"]["path"] if "ready" in checks else None,
        "requests": {
            "cpu_millicores": resources["cpu"] * 1000 // EXT.catalog.NOMAD_MHZ_PER_CORE,
            "memory_mib": resources["memory"],
        },
        "uid": int(str(task["user"]).split(":")[0]) if "user" in task else None,
        "healthcheck": None,
        "liveness_timing": _timing(checks["alive"]["interval"], checks["alive"]["timeout"])
        if "alive" in checks
        else None,
        "readiness_timing": _timing(checks["ready"]["interval"], checks["ready"]["timeout"])
        if "ready" in checks
        else None,
    }


def swarm_stack(project: Path) -> dict:
    return yaml.safe_load((project / "deploy" / "swarm" / "stack.yaml").read_text())


def from_swarm(project: Path) -> dict:
    app = swarm_stack(project)["services"]["app"]
    result = _compose_service(app)
    result["port"] = app["ports"][0]["target"] if app.get("ports") else None
    return result


EXTRACT = {
    "compose": from_compose,
    "kubernetes": from_kubernetes,
    "helm": from_helm,
    "nomad": from_nomad,
    "swarm": from_swarm,
}


# --- the comparison -------------------------------------------------------------------------------


def expected(spec: dict) -> dict:
    """The normalized dict every rendering must match, from `derive()`'s service spec."""
    return {
        "image_repository": spec["image_repository"],
        "port": spec["port"],
        "env": sorted(spec["env"]),
        "health_path": spec["health_path"],
        "ready_path": spec["ready_path"],
        "requests": {
            "cpu_millicores": spec["millicores"]["requests"],
            "memory_mib": spec["memory_mib"]["requests"],
        },
        "uid": spec["uid"],
        "healthcheck": spec["healthcheck"],
        "liveness_timing": {
            "period": spec["probes"]["liveness"]["period"],
            "timeout": spec["probes"]["liveness"]["timeout"],
        },
        "readiness_timing": {
            "period": spec["probes"]["readiness"]["period"],
            "timeout": spec["probes"]["readiness"]["timeout"],
        },
    }


def disagreements(spec: dict, extracted: dict[str, dict]) -> list[str]:
    """Every field where a rendering differs from the spec, e.g. 'nomad.ready_path: /ready != /readyz'.
    A field may be None only where NOT_EXPRESSIBLE says the orchestrator has no such knob."""
    want = expected(spec)
    found = []
    for where, got in extracted.items():
        missing = set(FIELDS) - set(got)
        if missing:
            found.append(f"{where}: fields {sorted(missing)} not extracted")
        for field in FIELDS:
            if field not in got:
                continue
            if got[field] is None and field in NOT_EXPRESSIBLE.get(where, {}):
                continue
            if got[field] != want[field]:
                found.append(f"{where}.{field}: {got[field]!r} != {want[field]!r}")
    return found
