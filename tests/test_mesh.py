"""Service mesh and secrets operators on Kubernetes (Kustomize) and Helm: what each variant renders.

The mesh puts the app's pods in Istio or Linkerd with mutual TLS required, opens the sidecar's ports
in the NetworkPolicy and keeps the probes and Pod Security "restricted"; a secrets operator fills the
very Secret, with the very keys, that the unchanged Deployment reads. The custom resources' schemas are
the real CRDs' in the apiserver tier (tests/test_apiserver.py).
"""

from __future__ import annotations

import copy

import pytest
import yaml

from kube import dangling_references, vault_crd_problems, violations
from matrix import load_extension, mesh_and_secrets_variants
from renderings import chart_dir, helm_render, kustomize

EXT = load_extension()
CATALOG = EXT.catalog
VARIANTS = mesh_and_secrets_variants()
MESH = [v for v in VARIANTS if "service_mesh" in dict(v.extra)]
SECRETS = [v for v in VARIANTS if "secrets" in dict(v.extra)]


def ids(variants):
    return [v.id for v in variants]


def derived(project) -> dict:
    return EXT.derive(yaml.safe_load((project / ".copier-answers.yml").read_text()))


def manifests(project, orchestrator: str, values: dict | None = None) -> list[dict]:
    """What production gets: the prod overlay, or the chart with its default values."""
    if orchestrator == "kubernetes":
        return kustomize(project / "deploy" / "kubernetes" / "overlays" / "prod")
    return helm_render(chart_dir(project), values)


def one(docs: list[dict], kind: str) -> dict:
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


def app_policy(docs: list[dict], deployment: dict) -> dict:
    return next(
        d
        for d in docs
        if d["kind"] == "NetworkPolicy"
        and d["spec"]["podSelector"].get("matchLabels", {}).items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
        and d["spec"]["podSelector"] != {}
    )


def ports(rules: list[dict]) -> set[int]:
    return {port["port"] for rule in rules for port in rule.get("ports", [])}


# --- the mesh ---------------------------------------------------------------------------------------


@pytest.mark.lint
@pytest.mark.parametrize("variant", MESH, ids=ids(MESH))
def test_mesh_joins_the_pods_requires_mtls_and_opens_the_sidecar_ports(render, variant):
    project = render(variant)
    mesh = derived(project)["mesh"]
    docs = manifests(project, variant.orchestrator)
    assert violations(docs) == [] and dangling_references(docs) == []
    deployment = one(docs, "Deployment")
    template = deployment["spec"]["template"]
    assert mesh["pod_labels"].items() <= template["metadata"]["labels"].items()
    assert mesh["pod_annotations"].items() <= template["metadata"].get("annotations", {}).items()
    # the probes stay plain HTTP probes: the mesh keeps them working (see the catalog)
    app = template["spec"]["containers"][0]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert app[probe]["httpGet"]["port"] == "http", probe
    # no NET_ADMIN init container of ours: the mesh's CNI plugin does the redirection
    assert all(
        "add" not in c["securityContext"]["capabilities"] for c in template["spec"].get("initContainers", [])
    )
    policy = app_policy(docs, deployment)
    assert ports(policy["spec"]["ingress"]) >= {rule["port"] for rule in mesh["ingress"]}
    assert ports(policy["spec"]["egress"]) >= {port for rule in mesh["egress"] for port in rule["ports"]}
    for rule in mesh["egress"]:
        if rule["namespace"]:
            wanted = {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": rule["namespace"]}}
            }
            assert any(r.get("to") == [wanted] for r in policy["spec"]["egress"]), rule
    selector = deployment["spec"]["selector"]["matchLabels"]
    if mesh["key"] == "istio":
        peer = one(docs, "PeerAuthentication")
        assert peer["spec"]["mtls"]["mode"] == "STRICT"
        assert peer["spec"]["selector"]["matchLabels"] == selector
        authz = one(docs, "AuthorizationPolicy")
        assert authz["spec"]["selector"]["matchLabels"] == selector and authz["spec"]["action"] == "ALLOW"
        assert authz["spec"]["rules"][0]["from"][0]["source"]["principals"] == ["*"]
        assert authz["spec"]["rules"][0]["to"][0]["operation"]["ports"] == [
            str(app["ports"][0]["containerPort"])
        ]
    else:
        assert template["metadata"]["annotations"]["config.linkerd.io/default-inbound-policy"] == (
            "all-authenticated"
        )
        assert not [d for d in docs if d["apiVersion"].startswith("security.istio.io/")]


@pytest.mark.lint
@pytest.mark.parametrize(
    "variant",
    [v for v in MESH if v.orchestrator == "kubernetes"],
    ids=ids([v for v in MESH if v.orchestrator == "kubernetes"]),
)
def test_dev_overlay_stays_mesh_free_for_a_bare_kind_cluster(render, variant):
    docs = kustomize(render(variant) / "deploy" / "kubernetes" / "overlays" / "dev")
    assert not [d for d in docs if d["apiVersion"].startswith(("security.istio.io/", "policy.linkerd.io/"))]
    labels = one(docs, "Deployment")["spec"]["template"]["metadata"]
    assert "sidecar.istio.io/inject" not in labels["labels"]
    assert "linkerd.io/inject" not in labels.get("annotations", {})


@pytest.mark.lint
@pytest.mark.parametrize(
    "variant",
    [v for v in MESH if v.orchestrator == "helm"],
    ids=ids([v for v in MESH if v.orchestrator == "helm"]),
)
def test_helm_test_pod_joins_the_mesh_and_mesh_can_be_switched_off(render, variant):
    project = render(variant)
    mesh = derived(project)["mesh"]
    docs = manifests(project, "helm")
    pod = one(docs, "Pod")
    assert mesh["pod_labels"].items() <= pod["metadata"]["labels"].items()
    assert mesh["test_pod_annotations"].items() <= pod["metadata"]["annotations"].items()
    test_policy = next(
        d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"].endswith("-test")
    )
    assert ports(test_policy["spec"]["egress"]) >= {p for rule in mesh["egress"] for p in rule["ports"]}
    off = manifests(project, "helm", {"mesh": {"provider": "none"}})
    assert not [d for d in off if d["apiVersion"].startswith("security.istio.io/")]
    template = one(off, "Deployment")["spec"]["template"]["metadata"]
    assert not set(mesh["pod_annotations"]) & set(template.get("annotations", {}))
    assert violations(off) == []


@pytest.mark.lint
@pytest.mark.parametrize("variant", MESH, ids=ids(MESH))
def test_prometheus_gets_the_metrics_the_way_the_mesh_documents(render, variant):
    """Mutual TLS only refuses a Prometheus outside the mesh on the app's port. Istio: the ServiceMonitor
    scrapes the metrics the sidecar's agent merges (the app's, found through the pod's prometheus.io
    annotations, and its own) on a port outside mutual TLS; Linkerd: a meshed Prometheus scrapes the
    app's port. Either way the NetworkPolicy admits the scrape from Prometheus's namespace."""
    project = render(variant)
    mesh = derived(project)["mesh"]
    docs = manifests(project, variant.orchestrator)
    deployment, service, monitor = one(docs, "Deployment"), one(docs, "Service"), one(docs, "ServiceMonitor")
    template = deployment["spec"]["template"]
    (container,) = template["spec"]["containers"]
    (app_port,) = [port["containerPort"] for port in container["ports"]]
    (endpoint,) = monitor["spec"]["endpoints"]
    (scraped,) = [port for port in service["spec"]["ports"] if port["name"] == endpoint["port"]]
    annotations = template["metadata"]["annotations"]
    if "port" in mesh["metrics"]:
        assert (
            scraped["targetPort"] == mesh["metrics"]["port"] and endpoint["path"] == mesh["metrics"]["path"]
        )
        target = mesh["metrics"]["port"]
        # what the agent merges in: the app's own endpoint
        assert annotations["prometheus.io/port"] == str(app_port)
        assert annotations["prometheus.io/path"] == CATALOG.METRICS_PATH
    else:
        assert scraped["targetPort"] in ("http", app_port) and endpoint["path"] == CATALOG.METRICS_PATH
        target = app_port
    everywhere = [
        rule
        for rule in app_policy(docs, deployment)["spec"]["ingress"]
        if rule["from"] == [{"namespaceSelector": {}}]
    ]
    assert target in ports(everywhere)
    readme = " ".join((project / "README.md").read_text().split())
    assert f"Prometheus gets the app's metrics through {mesh['metrics']['how']}" in readme


# --- secrets operators --------------------------------------------------------------------------------


def secret_refs(deployment: dict) -> set[tuple[str, str]]:
    pod = deployment["spec"]["template"]["spec"]
    return {
        (env["valueFrom"]["secretKeyRef"]["name"], env["valueFrom"]["secretKeyRef"]["key"])
        for container in pod["containers"] + pod.get("initContainers", [])
        for env in container.get("env", [])
        if "secretKeyRef" in env.get("valueFrom", {})
    }


@pytest.mark.lint
@pytest.mark.parametrize("variant", SECRETS, ids=ids(SECRETS))
def test_operator_fills_the_secret_the_unchanged_deployment_reads(render, variant):
    project = render(variant)
    info = derived(project)["secrets_info"]
    docs = manifests(project, variant.orchestrator)
    assert violations(docs) == [] and dangling_references(docs) == []
    refs = secret_refs(one(docs, "Deployment"))
    assert refs, "the variant has credentials"
    (name,) = {secret for secret, _ in refs}
    keys = {key for _, key in refs}
    assert not [d for d in docs if d["kind"] == "Secret"], "production never ships a Secret's values"
    if info["key"] == "external-secrets":
        external = one(docs, "ExternalSecret")
        assert external["spec"]["target"]["name"] == name
        assert {item["secretKey"] for item in external["spec"]["data"]} == keys
        assert {item["remoteRef"]["key"] for item in external["spec"]["data"]} == set(
            info["remote_keys"].values()
        )
        store_ref = external["spec"]["secretStoreRef"]
        stores = [d for d in docs if d["kind"] == "SecretStore"]
        if variant.cloud == "none":
            assert store_ref == {"kind": "ClusterSecretStore", "name": "platform-secrets"} and not stores
        else:
            (store,) = stores
            assert store_ref == {"kind": "SecretStore", "name": store["metadata"]["name"]}
            (provider,) = store["spec"]["provider"]
            assert provider == {"aws": "aws", "gcp": "gcpsm", "azure": "azurekv"}[variant.cloud]
            account = one(docs, "ServiceAccount")["metadata"]["name"]
            assert account in yaml.safe_dump(store["spec"]["provider"]), "signs in as the app's identity"
    else:
        synced = one(docs, "VaultStaticSecret")
        assert synced["spec"]["destination"] == {"name": name, "create": True}
        assert synced["spec"]["type"] == "kv-v2"
        assert synced["spec"]["rolloutRestartTargets"] == [
            {"kind": "Deployment", "name": one(docs, "Deployment")["metadata"]["name"]}
        ]
        auth = one(docs, "VaultAuth")
        assert auth["spec"]["kubernetes"]["serviceAccount"] == one(docs, "ServiceAccount")["metadata"]["name"]


@pytest.mark.lint
@pytest.mark.parametrize(
    "variant",
    [v for v in SECRETS if v.orchestrator == "kubernetes"],
    ids=ids([v for v in SECRETS if v.orchestrator == "kubernetes"]),
)
def test_dev_overlay_keeps_its_generated_secret(render, variant):
    """The dev overlay's in-cluster data services need known credentials: it keeps its own Secret."""
    docs = kustomize(render(variant) / "deploy" / "kubernetes" / "overlays" / "dev")
    assert [d for d in docs if d["kind"] == "Secret"]
    assert not [
        d for d in docs if d["apiVersion"].startswith(("external-secrets.io/", "secrets.hashicorp.com/"))
    ]


@pytest.mark.lint
@pytest.mark.parametrize("provider", ["kubernetes", "external-secrets", "vault"])
def test_helm_secrets_provider_switches_with_values(render, provider):
    """The chart carries every backend's values: a team switches with one value, nothing else."""
    project = render(next(v for v in SECRETS if v.orchestrator == "helm" and v.cloud == "aws"))
    docs = manifests(project, "helm", {"secrets": {"provider": provider}})
    assert dangling_references(docs) == [] and violations(docs) == []
    kinds = {d["kind"] for d in docs}
    assert ("ExternalSecret" in kinds) == (provider == "external-secrets")
    assert ("VaultStaticSecret" in kinds) == (provider == "vault")


@pytest.mark.render
@pytest.mark.parametrize("variant", VARIANTS, ids=ids(VARIANTS))
def test_readme_explains_the_mesh_and_the_secrets(render, variant):
    project = render(variant)
    info = derived(project)
    readme = " ".join((project / "README.md").read_text().split())
    if info["mesh"]["enabled"]:
        assert f"### Service mesh: {info['mesh']['label']}" in readme
        assert "cni" in readme.lower() and "restricted" in readme
    if info["secrets_info"]["component"] == "external-secrets":
        assert "### Secrets: External Secrets Operator" in readme
        for key in info["secrets_info"]["remote_keys"].values():
            assert key in readme
    if info["secrets_info"]["component"] == "vault":
        assert "### Secrets: HashiCorp Vault" in readme and "distroless" in readme


# --- the checks above can fail ------------------------------------------------------------------------


def secrets_variant(backend: str, cloud: str):
    return next(
        v
        for v in SECRETS
        if v.orchestrator == "kubernetes" and v.cloud == cloud and dict(v.extra)["secrets"] == backend
    )


@pytest.mark.lint
def test_reference_check_catches_a_dangling_store(render):
    """A renamed SecretStore leaves the ExternalSecret naming nothing (the API server cannot know)."""
    # on AWS: the release's own SecretStore (on `none` it reads the platform's ClusterSecretStore)
    docs = manifests(render(secrets_variant("external-secrets", "aws")), "kubernetes")
    assert dangling_references(docs) == []
    broken = copy.deepcopy(docs)
    one(broken, "SecretStore")["metadata"]["name"] = "other"
    (problem,) = dangling_references(broken)
    assert problem.endswith("spec.secretStoreRef.name names no SecretStore of this release")


@pytest.mark.lint
def test_vault_check_catches_typos_missing_fields_and_dangling_references(render):
    """The Vault Secrets Operator's resources, checked by structure (kube.py says why not by CRD)."""
    docs = manifests(render(secrets_variant("vault", "none")), "kubernetes")
    assert vault_crd_problems(docs) == [] and dangling_references(docs) == []
    for mutate, check, expected in [
        (
            lambda d: one(d, "VaultStaticSecret")["spec"].__setitem__("mountt", "kv"),
            vault_crd_problems,
            "unknown spec fields",
        ),
        (
            lambda d: one(d, "VaultStaticSecret")["spec"]["destination"].pop("name"),
            vault_crd_problems,
            "spec.destination.name missing",
        ),
        (
            lambda d: one(d, "VaultStaticSecret")["spec"].__setitem__("type", "kv-v3"),
            vault_crd_problems,
            "not one of",
        ),
        (
            lambda d: one(d, "VaultAuth").__setitem__("apiVersion", "secrets.hashicorp.com/v1"),
            vault_crd_problems,
            "unknown custom resource",
        ),
        (
            lambda d: one(d, "VaultConnection")["metadata"].__setitem__("name", "other"),
            dangling_references,
            "names no VaultConnection",
        ),
    ]:
        broken = copy.deepcopy(docs)
        mutate(broken)
        assert any(expected in problem for problem in check(broken)), expected
