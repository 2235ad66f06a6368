"""One service spec, every rendering agrees: compose, Kubernetes (Kustomize dev overlay), Helm (default
values), Nomad and Swarm, rendered from the same answers, carry the same image repository, port,
environment variable names, health and readiness paths (or the health-check command, the same as the
image's HEALTHCHECK), resource requests, non-root user and probe timings as the spec `derive()`
computes (tests/renderings.py reads each one back).
"""

from __future__ import annotations

import copy
import shutil
from collections import defaultdict

import pytest

from matrix import all_variants, implemented, load_extension
from renderings import EXTRACT, NOT_EXPRESSIBLE, disagreements, expected, from_nomad
from runtimes import healthcheck

EXT = load_extension()


def _sets() -> list[tuple]:
    """Every runtime x cloud x data-service set that the matrix renders with every orchestrator."""
    orchestrators: dict[tuple, set] = defaultdict(set)
    for variant in all_variants():
        orchestrators[(variant.runtime, variant.cloud, variant.data_services)].add(variant.orchestrator)
    return sorted(key for key, found in orchestrators.items() if found == set(implemented("orchestrator")))


SETS = _sets()
IDS = ["-".join((rt, cloud, "+".join(services) or "no-services")) for rt, cloud, services in SETS]


def answers_for(runtime, cloud, services, orchestrator) -> dict:
    return {"runtime": runtime, "cloud": cloud, "data_services": list(services), "orchestrator": orchestrator}


def spec_for(project) -> dict:
    import yaml

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    return EXT.derive(answers)["service_spec"]


@pytest.mark.lint
@pytest.mark.parametrize(("runtime", "cloud", "services"), SETS, ids=IDS)
def test_every_rendering_agrees_with_the_spec(render, runtime, cloud, services):
    projects = {
        orch: render(answers_for(runtime, cloud, services, orch)) for orch in implemented("orchestrator")
    }
    spec = spec_for(projects["kubernetes"])
    # The spec does not depend on the orchestrator, except where a setting points: the trace
    # collector is in-cluster for Kubernetes and Helm only. What the renderings must agree on does not.
    normalized = {orch: expected(spec_for(project)) for orch, project in projects.items()}
    assert normalized == dict.fromkeys(projects, expected(spec))
    extracted = {"compose": EXTRACT["compose"](projects["kubernetes"])}
    extracted.update({orch: EXTRACT[orch](project) for orch, project in projects.items()})
    assert set(extracted) == {"compose", "kubernetes", "helm", "nomad", "swarm"}
    assert disagreements(spec, extracted) == []
    # the image's own HEALTHCHECK runs the same command compose and Swarm run
    assert {orch: healthcheck(project) for orch, project in projects.items()} == dict.fromkeys(
        projects, spec["healthcheck"]
    )
    # and the compose file is the same whichever orchestrator was chosen
    assert len({EXTRACT["compose"](project)["env"].__repr__() for project in projects.values()}) == 1


@pytest.mark.unit
def test_comparison_fails_on_a_drifted_dict():
    spec = EXT.derive(
        {
            "project_slug": "shop",
            "runtime": "python",
            "orchestrator": "kubernetes",
            "cloud": "none",
            "app_port": 9000,
            "image_registry": "ghcr.io/acme",
            "data_services": ["postgres"],
        }
    )["service_spec"]
    good = {where: expected(spec) for where in EXTRACT}
    for where, fields in NOT_EXPRESSIBLE.items():
        for field in fields:
            good[where][field] = None
    assert disagreements(spec, good) == []

    for where, field, value in [
        ("nomad", "ready_path", "/ready"),
        ("helm", "port", 8080),
        ("swarm", "env", sorted([*spec["env"], "EXTRA"])),
        ("compose", "uid", 0),
        ("kubernetes", "requests", {"cpu_millicores": 200, "memory_mib": 128}),
        ("helm", "image_repository", "docker.io/other/shop"),
        ("kubernetes", "ready_path", None),  # Kubernetes has readiness probes: None is a drift here
        ("helm", "readiness_timing", {"period": 5, "timeout": 9}),
        ("nomad", "liveness_timing", {"period": 30, "timeout": 2}),
        ("swarm", "healthcheck", ["/app", "-healthcheck=/ready"]),
    ]:
        drifted = copy.deepcopy(good)
        drifted[where][field] = value
        assert disagreements(spec, drifted) == [f"{where}.{field}: {value!r} != {expected(spec)[field]!r}"]
    incomplete = copy.deepcopy(good)
    del incomplete["nomad"]["uid"]
    assert disagreements(spec, incomplete) == ["nomad: fields ['uid'] not extracted"]


@pytest.mark.render
def test_comparison_fails_on_a_drifted_rendered_file(render, tmp_path):
    """Edit a copy of a real rendering the way a hand edit would drift it: the comparison names it."""
    runtime, cloud, services = SETS[0][0], SETS[0][1], ("postgres",)
    project = shutil.copytree(render(answers_for(runtime, cloud, services, "nomad")), tmp_path / "project")
    spec = spec_for(project)
    assert disagreements(spec, {"nomad": from_nomad(project)}) == []
    job = next((project / "deploy" / "nomad").glob("*.nomad.hcl"))
    text = job.read_text()
    ready = spec["ready_path"]
    job.write_text(text.replace(f'"{ready}"', '"/ready"').replace("memory     = 128", "memory     = 64"))
    requests = expected(spec)["requests"]
    assert disagreements(spec, {"nomad": from_nomad(project)}) == [
        f"nomad.ready_path: '/ready' != {ready!r}",
        f"nomad.requests: {dict(requests, memory_mib=64)!r} != {requests!r}",
    ]
