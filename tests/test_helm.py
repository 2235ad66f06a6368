"""The Helm chart: static templates copied as they are, strict lint, renders that pass the Kubernetes
schema and Pod Security "restricted" with default values and with an override file, and a values
schema that rejects wrong types and unknown keys. Helm is the Helm 4 Go library (helm-python-sdk).
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import helm_python as helm
import jsonschema
import pytest
import yaml
from test_lint import METRICS, check_promql

from conftest import rendered_files
from kube import dangling_references, validate_manifests, violations
from matrix import ROOT, edge_variants, load_extension, migrates
from renderings import chart_dir, helm_render

EXT = load_extension()
HELM = [v for v in edge_variants() if v.orchestrator == "helm"]
IDS = [v.id for v in HELM]
TEMPLATE_CHART = (
    ROOT / "template" / "deploy" / "{% if orchestrator == 'helm' %}helm{% endif %}" / "{{ slug }}"
)

# A production-like override file: a release name, a pinned tag, an Ingress with TLS, fixed replicas.
OVERRIDE = """
image:
  tag: "1.2.3"
replicaCount: 3
autoscaling:
  enabled: false
ingress:
  enabled: true
  className: nginx
  annotations:
    cert-manager.io/cluster-issuer: letsencrypt
  hosts:
    - host: shop.example.org
      paths:
        - path: /
          pathType: Prefix
  tls:
    - secretName: shop-tls
      hosts:
        - shop.example.org
podLabels:
  team: payments
existingSecret: shop-credentials
"""
BAD_VALUES = [
    ({"replicaCount": "two"}, "replicaCount"),
    ({"imageTag": "1.0"}, "imageTag"),
    ({"image": {"tag": "1.0", "pullpolicy": "Always"}}, "pullpolicy"),
    ({"config": {"PORT": 8080}}, "PORT"),
    ({"networkPolicy": {"enabled": True, "egressPorts": ["5432"]}}, "egressPorts"),
    ({"service": {"type": "ClusterIP", "port": 80, "targetPort": 8080}}, "targetPort"),
    ({"mesh": {"provider": "consul", "strictMtls": True}}, "provider"),
    ({"secrets": {"provider": "sealed-secrets"}}, "provider"),
]


def variant_slug(project: Path) -> str:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())["project_slug"]


def kubernetes_version(project: Path) -> str:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())["kubernetes_version"]


def lint_findings(chart: Path, version: str, values: dict | None = None) -> list[str]:
    report = helm.lint(str(chart), values or {}, strict=True, kube_version=f"v{version}.0")
    # 1 = info ("icon is recommended"); strict lint fails on warnings (2) and errors (3).
    return [f"{m['path']}: {m['error']}" for m in report["messages"] if m["severity"] >= 2] + report["errors"]


# --- what Copier writes ---------------------------------------------------------------------------


@pytest.mark.render
@pytest.mark.parametrize("variant", HELM, ids=IDS)
def test_helm_templates_are_copied_verbatim(render, variant):
    """Never template a template: Copier copies templates/ byte for byte; only Chart.yaml,
    values.yaml and files/meshes.yaml (the catalog's mesh needs, data the templates read) are
    rendered from the answers."""
    project = render(variant)
    chart = chart_dir(project)
    assert chart.name == yaml.safe_load((chart / "Chart.yaml").read_text())["name"] == variant_slug(project)
    sources = sorted(p for p in (TEMPLATE_CHART / "templates").rglob("*") if p.is_file())
    assert sources and not any(p.name.endswith(".jinja") for p in sources)
    for source in sources:
        copied = chart / "templates" / source.relative_to(TEMPLATE_CHART / "templates")
        assert copied.read_bytes() == source.read_bytes(), copied
    rendered = {p.relative_to(chart).as_posix() for p in rendered_files(chart)}
    templated = {p.relative_to(TEMPLATE_CHART).as_posix() for p in TEMPLATE_CHART.rglob("*.jinja")}
    assert templated == {"Chart.yaml.jinja", "values.yaml.jinja", "files/meshes.yaml.jinja"}
    assert {"Chart.yaml", "values.yaml", "values.schema.json", ".helmignore"} <= rendered
    assert "{{" in (chart / "templates" / "deployment.yaml").read_text()


@pytest.mark.render
@pytest.mark.parametrize("variant", HELM, ids=IDS)
def test_values_match_the_schema_and_every_key_is_commented(render, variant):
    chart = chart_dir(render(variant))
    schema = json.loads((chart / "values.schema.json").read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    values = yaml.safe_load((chart / "values.yaml").read_text())
    jsonschema.validate(values, schema)
    assert schema["additionalProperties"] is False
    assert set(values) <= set(schema["properties"])
    # every top-level key has a comment right above it or as the first line of its block
    lines = (chart / "values.yaml").read_text().splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith((" ", "#", "-")):
            above, below = (
                lines[index - 1] if index else "",
                lines[index + 1] if index + 1 < len(lines) else "",
            )
            assert above.startswith("#") or below.strip().startswith("#"), (
                f"values.yaml: {line} has no comment"
            )


@pytest.mark.render
@pytest.mark.parametrize(("bad", "key"), BAD_VALUES, ids=[key for _, key in BAD_VALUES])
def test_schema_rejects_wrong_types_and_unknown_keys(render, bad, key):
    chart = chart_dir(render(HELM[-1]))
    schema = json.loads((chart / "values.schema.json").read_text())
    values = yaml.safe_load((chart / "values.yaml").read_text())
    merged = copy.deepcopy(values)
    for name, value in bad.items():
        merged[name] = {**merged[name], **value} if isinstance(value, dict) and name in merged else value
    with pytest.raises(jsonschema.ValidationError) as info:
        jsonschema.validate(merged, schema)
    assert key in str(info.value)
    # and Helm itself refuses to render with it
    with helm.Chart.load(str(chart)) as loaded, pytest.raises(helm.HelmValuesError, match=key):
        loaded.validate_schema(bad)
    with pytest.raises(helm.HelmValuesError):
        helm_render(chart, bad)


# --- Helm's own checks ----------------------------------------------------------------------------


@pytest.mark.lint
@pytest.mark.parametrize("variant", HELM, ids=IDS)
def test_chart_lints_strict(render, variant):
    project = render(variant)
    version = kubernetes_version(project)
    assert lint_findings(chart_dir(project), version) == []
    assert lint_findings(chart_dir(project), version, yaml.safe_load(OVERRIDE)) == []


@pytest.mark.lint
@pytest.mark.parametrize("variant", HELM, ids=IDS)
@pytest.mark.parametrize("values", ["defaults", "override"])
def test_chart_renders_schema_valid_and_restricted(render, variant, values, tmp_path):
    project = render(variant)
    overrides = yaml.safe_load(OVERRIDE) if values == "override" else None
    docs = helm_render(chart_dir(project), overrides, release="shop" if overrides else None)
    proc = validate_manifests(docs, kubernetes_version(project), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert violations(docs) == []
    assert dangling_references(docs) == []
    kinds = [doc["kind"] for doc in docs]
    expected = {
        "ConfigMap",
        "Deployment",
        "Service",
        "ServiceAccount",
        "NetworkPolicy",
        "PodDisruptionBudget",
    }
    assert expected <= set(kinds)
    assert ("HorizontalPodAutoscaler" in kinds) == (values == "defaults")
    assert ("Ingress" in kinds) == (values == "override")
    test_pods = [doc for doc in docs if doc["kind"] == "Pod"]
    assert len(test_pods) == 1 and test_pods[0]["metadata"]["annotations"]["helm.sh/hook"] == "test"
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    if overrides:
        assert deployment["metadata"]["name"] == f"shop-{chart_dir(project).name}"[:63].rstrip("-")
        assert container["image"].endswith(":1.2.3") and deployment["spec"]["replicas"] == 3
    else:
        assert deployment["metadata"]["name"] == chart_dir(project).name
    # the test pod is not selected by the app's Service
    service = next(doc for doc in docs if doc["kind"] == "Service")
    assert not service["spec"]["selector"].items() <= test_pods[0]["metadata"]["labels"].items()


@pytest.mark.lint
@pytest.mark.parametrize("variant", HELM, ids=IDS)
def test_chart_wires_every_data_service(render, variant):
    """Every env var resolves to a ConfigMap key or to existingSecret; egress reaches each service."""
    project = render(variant)
    spec = EXT.derive(yaml.safe_load((project / ".copier-answers.yml").read_text()))["service_spec"]
    values = yaml.safe_load((chart_dir(project) / "values.yaml").read_text())
    docs = helm_render(chart_dir(project))
    config = next(doc for doc in docs if doc["kind"] == "ConfigMap")
    deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    for container in pod["containers"] + pod.get("initContainers", []):
        for env in container["env"]:
            ref = env["valueFrom"]
            if "configMapKeyRef" in ref:
                assert ref["configMapKeyRef"]["name"] == config["metadata"]["name"]
                assert ref["configMapKeyRef"]["key"] in config["data"], env["name"]
            elif "resourceFieldRef" in ref:  # the worker count: the container's own CPU limit
                assert env["name"] == spec["workers_env"]
                assert ref["resourceFieldRef"] == {"resource": "limits.cpu", "divisor": "1"}
                assert container["resources"]["limits"]["cpu"], "a CPU limit to read"
            else:
                assert ref["secretKeyRef"] == {"name": values["existingSecret"], "key": env["name"]}
                assert env["name"] in spec["secret_env"]
    app = next(c for c in pod["containers"] if c["name"] == "app")
    assert sorted(env["name"] for env in app["env"]) == sorted(spec["env"])
    assert config["data"] == spec["config"]
    assert bool(pod.get("initContainers")) == migrates(variant)
    egress = {
        port["port"]
        for doc in docs
        if doc["kind"] == "NetworkPolicy" and doc["metadata"]["name"] == deployment["metadata"]["name"]
        for rule in doc["spec"]["egress"]
        for port in rule.get("ports", [])
    }
    wanted = {53} | {EXT.catalog.DATA_SERVICES[key]["port"] for key in variant.data_services}
    if EXT.catalog.OBSERVABILITY["otlp_env"] in spec["config"]:  # traces leave for the collector
        wanted.add(EXT.catalog.OBSERVABILITY["otlp_port"])
    mesh = EXT.derive(yaml.safe_load((project / ".copier-answers.yml").read_text()))["mesh"]
    wanted |= {port for rule in mesh["egress"] for port in rule["ports"]}  # the sidecar's control plane
    assert egress == wanted
    deny = [doc for doc in docs if doc["kind"] == "NetworkPolicy" and doc["spec"]["podSelector"] == {}]
    assert (
        deny and deny[0]["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny[0]["spec"]
    )


DEV = {"devServices": {"enabled": True}}
WITH_SERVICES = [v for v in HELM if v.data_services]


@pytest.mark.lint
@pytest.mark.parametrize("variant", WITH_SERVICES, ids=[v.id for v in WITH_SERVICES])
def test_dev_services_run_hardened_and_the_app_reaches_them(render, variant, tmp_path):
    """devServices.enabled: a StatefulSet per data service (schema-valid, restricted), the Secret the
    app reads with every key it needs, and the app's settings pointing at each instance's Service."""
    project = render(variant)
    chart = chart_dir(project)
    values = yaml.safe_load((chart / "values.yaml").read_text())
    assert lint_findings(chart, kubernetes_version(project), DEV) == []
    docs = helm_render(chart, DEV)
    proc = validate_manifests(docs, kubernetes_version(project), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert violations(docs) == []
    assert not [doc for doc in helm_render(chart) if doc["kind"] in ("StatefulSet", "Secret")], (
        "off by default"
    )

    services = {svc["key"]: svc for svc in EXT.derive(answers(project))["services"]}
    sets = {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == "StatefulSet"}
    assert set(sets) == {svc["host"] for svc in services.values()}
    (secret,) = [doc for doc in docs if doc["kind"] == "Secret"]
    assert secret["metadata"]["name"] == values["existingSecret"]
    config = next(doc for doc in docs if doc["kind"] == "ConfigMap")["data"]
    settings = {**config, **secret["stringData"]}
    assert set(values["secretEnv"]) <= set(secret["stringData"])
    for svc in services.values():
        # the app's setting names the instance's Service and port
        assert f"{svc['host']}:{svc['port']}" in settings[svc["env"]], (svc["env"], settings[svc["env"]])
        container = sets[svc["host"]]["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == svc["image"]
        for env in container.get("env", []):
            if "valueFrom" in env:
                ref = env["valueFrom"]["secretKeyRef"]
                assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"]
        policy = next(
            doc for doc in docs if doc["kind"] == "NetworkPolicy" and doc["metadata"]["name"] == svc["host"]
        )
        (rule,) = policy["spec"]["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": svc["port"]}]
        deployment = next(doc for doc in docs if doc["kind"] == "Deployment")
        assert rule["from"][0]["podSelector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


def answers(project: Path) -> dict:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


OBSERVED_HELM = [v for v in HELM if dict(v.extra).get("observability", True)]


@pytest.mark.lint
@pytest.mark.parametrize("variant", HELM, ids=IDS)
def test_chart_scrapes_and_alerts_when_observability_is_on(render, variant):
    project = render(variant)
    docs = helm_render(chart_dir(project))
    monitors = [doc for doc in docs if doc["kind"] == "ServiceMonitor"]
    rules = [doc for doc in docs if doc["kind"] == "PrometheusRule"]
    if variant not in OBSERVED_HELM:
        assert not monitors and not rules
        return
    (service,) = [doc for doc in docs if doc["kind"] == "Service"]
    (monitor,) = monitors
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert {p["name"] for p in service["spec"]["ports"]} >= {e["port"] for e in monitor["spec"]["endpoints"]}
    mesh = EXT.derive(answers(project))["mesh"]  # Istio: the merged metrics (tests/test_mesh.py)
    assert monitor["spec"]["endpoints"][0]["path"] == mesh["metrics"].get("path", EXT.catalog.METRICS_PATH)
    assert dangling_references(docs) == []
    (rule,) = rules
    alerts = [alert for group in rule["spec"]["groups"] for alert in group["rules"]]
    assert {alert["alert"] for alert in alerts} == {"HighErrorRate", "HighLatency", "NotReady"}
    for alert in alerts:
        assert check_promql(alert["expr"]) <= METRICS, alert["expr"]
        # the job label Prometheus gives the scraped series is the Service's name
        assert f'job="{service["metadata"]["name"]}"' in alert["expr"]
    assert (
        "{{ $labels.service }}"
        in next(a for a in alerts if a["alert"] == "NotReady")["annotations"]["summary"]
    )
    off = {"metrics": {"serviceMonitor": {"enabled": False}, "prometheusRule": {"enabled": False}}}
    assert not [
        doc
        for doc in helm_render(chart_dir(project), off)
        if doc["apiVersion"].startswith("monitoring.coreos.com/")
    ]


# --- the checks above can fail --------------------------------------------------------------------


@pytest.mark.lint
def test_lint_and_policy_catch_a_broken_chart(render, tmp_path):
    project = render(HELM[-1])
    chart = shutil.copytree(chart_dir(project), tmp_path / chart_dir(project).name)
    version = kubernetes_version(project)
    assert lint_findings(chart, version) == []

    deployment = chart / "templates" / "deployment.yaml"
    original = deployment.read_text()
    deployment.write_text(original.replace('include "app.fullname" .', 'include "app.fulname" .', 1))
    assert lint_findings(chart, version), "lint must report a call to an undefined template"
    deployment.write_text(original)

    docs = helm_render(chart, {"securityContext": {"readOnlyRootFilesystem": False}})
    assert any("readOnlyRootFilesystem" in v for v in violations(docs))
    broken = copy.deepcopy(helm_render(chart))
    next(doc for doc in broken if doc["kind"] == "Pod")["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    assert validate_manifests(broken, version, tmp_path).returncode != 0


@pytest.mark.lint
def test_the_longest_slug_fits_helm_and_kubernetes_limits(render, tmp_path):
    """Release names may be 53 characters: with the longest slug the prompt accepts, the suggested
    release and every object name the chart renders still fit (a Pod's name is its hostname)."""
    slug = "a" * (EXT.SLUG_MAX - 1) + "b"
    project = render({**HELM[0].answers, "project_slug": slug})
    chart = chart_dir(project)
    assert chart.name == slug
    version = kubernetes_version(project)
    assert lint_findings(chart, version) == []
    release = EXT.derive(yaml.safe_load((project / ".copier-answers.yml").read_text()))["orchestrator_info"][
        "release"
    ]
    helm.validate_release_name(release)
    assert f"helm install {release} deploy/helm/{slug}" in (chart / "Chart.yaml").read_text()
    docs = helm_render(chart, release=release)
    assert validate_manifests(docs, version, tmp_path).returncode == 0
    for doc in docs:
        if doc["kind"] in {"Service", "Deployment", "StatefulSet", "Pod"}:
            assert len(doc["metadata"]["name"]) <= 63, doc["metadata"]["name"]
        template = doc.get("spec", {}).get("template", {}).get("metadata", {})
        for labels in (doc["metadata"].get("labels", {}), template.get("labels", {})):
            assert all(len(str(value)) <= 63 for value in labels.values()), labels
