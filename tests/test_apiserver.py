"""Apiserver tier: every Kubernetes rendering accepted by a real API server, with zero warnings.

A real control plane (tests/support/cluster.py: etcd and kube-apiserver v1.33, built from their Go
modules) with the real CRDs of the Prometheus Operator, Istio and External Secrets Operator installed.
Every Kustomize overlay and every Helm rendering (default values, an override file, the in-cluster
data services; each mesh and secrets choice; observability on and off; boundary answers for names,
registry, port and Kubernetes version) goes through server-side apply with --dry-run=server: the
server's own validation (names, label values, strict fields, CRD schemas and their CEL rules) and
admission (Pod Security "restricted" at the answer's version, on the Pods the workloads would create)
must accept all of it and warn about nothing. The Vault Secrets Operator's resources are the one
exception (kube.py says why); they get kube.vault_crd_problems instead.
"""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from test_helm import OVERRIDE, answers

from kube import is_vault, vault_crd_problems
from matrix import DEFAULT, HOSTILE, edge_variants, questions
from renderings import chart_dir, helm_render, kustomize
from support import tools
from support.cluster import ControlPlane

pytestmark = [pytest.mark.apiserver, pytest.mark.xdist_group("apiserver")]

# The manifests depend on the runtime (port, settings, the migration Job) and on the cloud (workload
# identity, the secret store), not on the two together: every runtime on the default cloud and every
# cloud for the default runtime.
VARIANTS = [
    v
    for v in edge_variants()
    if v.orchestrator in ("kubernetes", "helm") and (v.runtime == DEFAULT.runtime or v.cloud == DEFAULT.cloud)
]
KUBE = [v for v in VARIANTS if v.orchestrator == "kubernetes"]
HELM = [v for v in VARIANTS if v.orchestrator == "helm"]
HELM_VALUES = {
    "defaults": None,
    "override": yaml.safe_load(OVERRIDE),
    "dev-services": {"devServices": {"enabled": True}},
}

# Answers at the edges of what the prompt accepts, on the variant with the most objects: the longest
# slug and hostile free text, the shortest slug, one of digits and hyphens after its letter, a registry
# with a port and nested paths, the highest port, and every Kubernetes version offered.
FULL = max(KUBE, key=lambda v: len(v.data_services))
EDGES = {
    "hostile": HOSTILE,
    "one-letter-slug": {"project_slug": "a"},
    "digits-and-hyphens-slug": {"project_slug": "x-9-0"},
    "registry-and-port": {"image_registry": "registry.example.com:5000/team.a/sub_b", "app_port": 65535},
    **{f"kubernetes-{v}": {"kubernetes_version": v} for v in questions()["kubernetes_version"]["choices"]},
}


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory):
    plane = ControlPlane(tmp_path_factory.mktemp("control-plane"), tools.crd_files()).start()
    yield plane
    plane.stop()


def psa_version(project) -> str:
    return "v" + answers(project)["kubernetes_version"]


def served(docs: list[dict]) -> list[dict]:
    """What the server can judge: everything but the Vault Secrets Operator's resources."""
    return [doc for doc in docs if not is_vault(doc)]


def overlay_refusals(plane: ControlPlane, project, overlay: str) -> list[str]:
    """The overlay's Namespace created for real (its own Pod Security labels), the rest dry-run."""
    docs = kustomize(project / "deploy" / "kubernetes" / "overlays" / overlay)
    namespaces = [doc for doc in docs if doc["kind"] == "Namespace"]
    assert namespaces, "the overlay creates its namespace"
    for namespace in namespaces:
        labels = namespace["metadata"].get("labels", {})
        assert labels.get("pod-security.kubernetes.io/enforce-version") == psa_version(project)
        plane.apply(namespace)
    others = [doc for doc in docs if doc["kind"] != "Namespace"]
    return plane.refusals(served(others)) + vault_crd_problems(docs)


def chart_refusals(plane: ControlPlane, project, values: dict | None, namespace: str) -> list[str]:
    """The chart installed into a namespace that enforces "restricted" at the answer's version."""
    plane.namespace(namespace, psa_version(project))
    docs = helm_render(chart_dir(project), values, namespace=namespace)
    return plane.refusals(served(docs), namespace) + vault_crd_problems(docs)


def namespace_for(text: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", text.lower())[:63].strip("-")


# --- every rendering ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", KUBE, ids=[v.id for v in KUBE])
@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_is_accepted(render, control_plane, variant, overlay):
    assert overlay_refusals(control_plane, render(variant), overlay) == []


@pytest.mark.parametrize("variant", HELM, ids=[v.id for v in HELM])
@pytest.mark.parametrize("values", list(HELM_VALUES))
def test_chart_is_accepted(render, control_plane, variant, values):
    project = render(variant)
    namespace = namespace_for(f"{values}-{variant.id}")
    assert chart_refusals(control_plane, project, HELM_VALUES[values], namespace) == []


@pytest.mark.parametrize("edge", list(EDGES))
@pytest.mark.parametrize("orchestrator", ["kubernetes", "helm"])
def test_boundary_answers_are_accepted(render, control_plane, edge, orchestrator):
    project = render({**FULL.answers, "orchestrator": orchestrator, **EDGES[edge]})
    if orchestrator == "kubernetes":
        for overlay in ("dev", "prod"):
            assert overlay_refusals(control_plane, project, overlay) == [], overlay
    else:
        for name, values in HELM_VALUES.items():
            namespace = namespace_for(f"edge-{edge}-{name}")
            assert chart_refusals(control_plane, project, values, namespace) == [], name


# --- the server refuses what is wrong ----------------------------------------------------------------


def one(docs: list[dict], kind: str) -> dict:
    return next(doc for doc in docs if doc["kind"] == kind)


def container(docs: list[dict]) -> dict:
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def privileged(context: dict) -> None:
    context["privileged"] = True
    del context["allowPrivilegeEscalation"]  # the server refuses the pair itself


BROKEN = {
    "bad-name": (lambda d: one(d, "Service")["metadata"].__setitem__("name", "Shop_API"), "Invalid value"),
    "label-value": (
        lambda d: one(d, "ConfigMap")["metadata"].setdefault("labels", {}).__setitem__("team", "a b"),
        "Invalid value",
    ),
    "privileged": (lambda d: privileged(container(d)["securityContext"]), 'violates PodSecurity "restricted'),
    "unknown-core-field": (lambda d: container(d).__setitem__("imagePullPolcy", "Always"), "imagePullPolcy"),
    "unknown-cr-field": (
        lambda d: one(d, "ServiceMonitor")["spec"]["endpoints"][0].__setitem__("intervall", "30s"),
        "intervall",
    ),
    "cr-enum": (
        lambda d: one(d, "ExternalSecret")["spec"]["target"].__setitem__("creationPolicy", "Sometimes"),
        "creationPolicy",
    ),
    "cr-cel-rule": (
        lambda d: one(d, "AuthorizationPolicy")["spec"].__setitem__(
            "targetRefs", [{"kind": "Service", "name": "x"}]
        ),
        "only one of targetRefs or selector can be set",
    ),
}


@pytest.mark.parametrize("broken", list(BROKEN))
def test_the_server_refuses_a_broken_rendering(render, control_plane, broken):
    """Each check above can fail: one deliberate mistake, one refusal that names it."""
    extra = {"service_mesh": "istio", "secrets": "external-secrets", "cloud": "aws"}
    project = render({**FULL.answers, **extra})
    docs = kustomize(project / "deploy" / "kubernetes" / "overlays" / "prod")
    for namespace in (doc for doc in docs if doc["kind"] == "Namespace"):
        control_plane.apply(namespace)
    others = served([doc for doc in docs if doc["kind"] != "Namespace"])
    assert control_plane.refusals(others) == [], "the unbroken rendering is accepted"
    mutate, expected = BROKEN[broken]
    broken_docs = copy.deepcopy(others)
    mutate(broken_docs)
    refusals = control_plane.refusals(broken_docs)
    assert any(expected in refusal for refusal in refusals), refusals


def test_the_server_is_the_pinned_release(control_plane):
    newest = max(questions()["kubernetes_version"]["choices"], key=lambda v: tuple(map(int, v.split("."))))
    assert control_plane.version.startswith(f"v{newest}."), control_plane.version
