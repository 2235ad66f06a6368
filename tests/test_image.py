"""Image tier: each available runtime's generated app/Dockerfile builds and runs as the manifests run it.

No registry is reachable here: scripts/standin_bases.py builds stand-ins for the catalog's base images
from Debian (cached between runs), and every build runs with `--pull=never`. Per runtime, with no data
services and with PostgreSQL + Redis (pointing at nothing: liveness must not depend on them):
- the image builds, and carries no compiler, build tool, installer or package cache;
- its final stage has no shell and no package manager at all, its base's included (distroless);
- it runs with a read-only root filesystem, every capability dropped and no privilege escalation,
  the runtime's temporary folders as tmpfs; /healthz answers 200 within the HEALTHCHECK start period;
- the process runs as the numeric non-root UID; `podman healthcheck run` passes;
- `podman stop` ends it within the grace period with the exit code the app really gives on SIGTERM;
- it logs JSON lines to stdout.
Image sizes are written to .benchmarks/image-sizes.json (scripts/bench_images.py compares them).
Each builder stage reaches its own registry (PyPI, npm, the Go module proxy, Maven Central), into the
cache mounts the Dockerfiles declare: the second image of a runtime downloads only what the first did
not. A build that fails on a dropped registry connection is built again (scripts/imagekit.py).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import pytest

from matrix import DEFAULT, ROOT, Variant, implemented, load_extension, supported_services

sys.path.insert(0, str(ROOT / "scripts"))
import imagekit  # noqa: E402

pytestmark = pytest.mark.image

CATALOG = load_extension().catalog
STOP_GRACE_SECONDS = 10
WITH_SERVICES = ("postgres", "redis")


def variants() -> list[Variant]:
    found: dict[str, Variant] = {}
    for runtime in implemented("runtime"):
        services = tuple(s for s in WITH_SERVICES if s in supported_services(runtime))
        for chosen in ((), services):
            variant = Variant(runtime, DEFAULT.orchestrator, DEFAULT.cloud, chosen)
            found.setdefault(variant.id, variant)
    return list(found.values())


VARIANTS = variants()


@pytest.fixture(scope="session")
def bases():
    """The stand-in bases of every available runtime (built once a machine, then cached)."""
    if os.geteuid() != 0:
        pytest.skip("podman here runs as root (runc, overlay storage): run the image tier as root")
    import subprocess

    runtimes = sorted({variant.runtime for variant in VARIANTS})
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "standin_bases.py"), *runtimes],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return runtimes


@pytest.fixture(scope="session")
def images(render, bases):
    """images(variant) -> the tag of its built image (built once per session)."""
    built: dict[str, str] = {}
    sizes: dict[str, dict] = {}

    def _image(variant: Variant) -> str:
        if variant.id not in built:
            tag = f"localhost/cn-template-test/{name_of(variant)}:latest"
            seconds = imagekit.build(render(variant) / "app", tag)
            built[variant.id] = tag
            sizes[variant.id] = {"bytes": imagekit.size(tag), "build_seconds": round(seconds, 1)}
            print(f"{variant.id}: {sizes[variant.id]['bytes'] / 1e6:.1f} MB, built in {seconds:.0f} s")
        return built[variant.id]

    yield _image
    if sizes:
        out = ROOT / ".benchmarks" / "image-sizes.json"
        out.parent.mkdir(exist_ok=True)
        previous = json.loads(out.read_text()) if out.exists() else {}
        out.write_text(json.dumps({**previous, **sizes}, indent=2, sort_keys=True) + "\n")


def name_of(variant: Variant) -> str:
    """The variant's id as image references and container names allow it."""
    return re.sub(r"[^a-z0-9.-]+", "-", variant.id.lower())


def dockerfile_facts(variant: Variant, render) -> tuple[int, float]:
    """(container port, start budget in seconds) as the rendered Dockerfile states them."""
    text = (render(variant) / "app" / "Dockerfile").read_text()
    port = int(re.search(r"^EXPOSE (\d+)", text, re.M).group(1))
    start_period = re.search(r"--start-period=(\d+)s", text)
    return port, float(start_period.group(1)) if start_period else 10.0


def service_env(variant: Variant, project: Path) -> list[str]:
    """Each chosen service's variable as the project's .env.example sets it for local development:
    `localhost` inside the container, where nothing listens."""
    example = dict(
        line.split("=", 1)
        for line in (project / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    args = []
    for service in variant.data_services:
        name = CATALOG.DATA_SERVICES[service]["env"]
        assert name in example, f".env.example does not set {name}"
        args += ["--env", f"{name}={example[name]}"]
    return args


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_image_builds_without_build_tools(images, variant):
    image = images(variant)
    with imagekit.mounted(image) as root:
        found = imagekit.leftovers(root)
    assert found == {"build tools": [], "installer modules": [], "package caches": []}, found


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_image_has_no_shell_or_package_manager(images, variant):
    image = images(variant)
    with imagekit.mounted(image) as root:
        found = imagekit.shells_and_package_managers(root)
    assert found == {"shells": [], "package managers": []}, found
    # Nor can anything start one: exec of a shell fails in the container itself.
    proc = imagekit.podman("run", "--rm", "--entrypoint", "sh", image, "-c", "true", check=False)
    assert proc.returncode != 0 and "executable file" in (proc.stdout + proc.stderr), proc


def test_shell_check_finds_a_debian_images_shell_and_package_managers(bases):
    """The check above can fail: on the default runtime's build stage base (Debian) it finds them."""
    with imagekit.mounted(imagekit.qualified(CATALOG.RUNTIMES[DEFAULT.runtime]["build_image"])) as root:
        found = imagekit.shells_and_package_managers(root)
    assert {"/usr/bin/sh", "/usr/bin/bash"} <= set(found["shells"]), found
    assert {"/usr/bin/apt-get", "/usr/bin/dpkg"} <= set(found["package managers"]), found


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_image_runs_hardened_healthy_as_non_root_and_stops_cleanly(images, render, variant):
    image = images(variant)
    runtime = CATALOG.RUNTIMES[variant.runtime]
    app_port, start_budget = dockerfile_facts(variant, render)
    port = imagekit.free_port()
    name = f"cn-template-test-{name_of(variant)}-{os.getpid()}"
    imagekit.podman(
        "run", "--detach", "--name", name,
        *imagekit.hardened_run_args(runtime["tmp_dirs"]),
        "--publish", f"127.0.0.1:{port}:{app_port}",
        *service_env(variant, render(variant)),
        image,
    )  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        waited = imagekit.wait_status(f"{base}{CATALOG.HEALTH_PATH}", 200, timeout=start_budget)
        logs = imagekit.podman("logs", name, check=False)
        assert waited is not None, f"/healthz not 200 within {start_budget} s:\n{logs.stdout}{logs.stderr}"
        ready = imagekit.http_status(f"{base}{CATALOG.READY_PATH}", timeout=10)
        assert ready == (503 if variant.data_services else 200), "readiness must follow the data services"

        state = json.loads(imagekit.podman("inspect", "--format", "{{json .State}}", name).stdout)
        config_user = imagekit.podman("inspect", "--format", "{{.Config.User}}", name).stdout.strip()
        assert config_user == f"{CATALOG.APP_UID}:{CATALOG.APP_UID}"
        status = Path(f"/proc/{state['Pid']}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        assert fields["Uid"].split() == [str(CATALOG.APP_UID)] * 4, fields["Uid"]
        assert fields["Gid"].split() == [str(CATALOG.APP_UID)] * 4, fields["Gid"]
        assert int(fields["CapEff"], 16) == 0 and fields["NoNewPrivs"].strip() == "1"

        check = imagekit.podman("healthcheck", "run", name, check=False)
        assert check.returncode == 0, f"HEALTHCHECK failed: {check.stdout}{check.stderr}"

        started = time.monotonic()
        imagekit.podman("stop", "--time", str(STOP_GRACE_SECONDS), name)
        stopped_in = time.monotonic() - started
        state = json.loads(imagekit.podman("inspect", "--format", "{{json .State}}", name).stdout)
        logs = imagekit.podman("logs", name, check=False)
        assert stopped_in < STOP_GRACE_SECONDS, f"SIGTERM ignored: killed after {stopped_in:.1f} s"
        assert state["ExitCode"] == CATALOG.RUNTIMES[variant.runtime]["stop_exit_code"], (
            logs.stdout + logs.stderr
        )
        lines = [line for line in logs.stdout.splitlines() if line.strip()]
        assert lines, "the app must log to stdout"
        for line in lines:
            assert isinstance(json.loads(line), dict), f"not a JSON log line: {line}"
    finally:
        imagekit.podman("rm", "--force", "--time", "0", name, check=False)


def test_make_image_builds_with_podman_keeping_the_healthcheck(images, render):
    """The generated `make image` (Podman when no Docker daemon answers) keeps HEALTHCHECK (docker format)."""
    import subprocess

    variant = VARIANTS[0]
    images(variant)  # the same layers: this build comes from the cache
    project = render(variant)
    tag = f"localhost/cn-template-test/make-{name_of(variant)}"
    with imagekit.one_at_a_time("build"):
        proc = subprocess.run(
            ["make", "image", "CONTAINER_ENGINE=podman", f"IMAGE={tag}", "TAG=test"],
            cwd=project,
            env=imagekit.env(),
            capture_output=True,
            text=True,
            check=False,
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    health = imagekit.podman("image", "inspect", "--format", "{{json .Config.Healthcheck}}", f"{tag}:test")
    assert json.loads(health.stdout)["Test"][0] in ("CMD", "CMD-SHELL"), health.stdout
    imagekit.podman("rmi", f"{tag}:test", check=False)
