"""Alert rules judged by Prometheus's own promtool (built from the Go module proxy, pinned in
support/tools.py): `promtool check rules` on every rule file the template renders, and
`promtool test rules` unit tests: each alert fires on its condition, after its `for`, with the
labels and summary it promises, and stays silent otherwise.

The input series are what Prometheus would store from the apps: the metric names and labels every
runtime exports (the contract tier checks them on the live apps), from two pods, with the job label
the ServiceMonitor gives them (the Service's name) and the namespace they run in.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from matrix import DEFAULT, Variant
from renderings import chart_dir, helm_render, kustomize
from support import tools

pytestmark = pytest.mark.lint

PODS = ("app-0", "app-1")
BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")
ROUTE = {"method": "POST", "route": "/api/postgres/visits"}


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(tools.go_tool("promtool")), *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def rendered_rules(render, orchestrator: str) -> tuple[dict, dict]:
    """(the PrometheusRule, the labels Prometheus gives the app's series) from the rendering that
    ships alerts: the Kustomize prod overlay, or the Helm chart with its default values."""
    project = render(Variant("python", orchestrator, DEFAULT.cloud, ("postgres",)))
    if orchestrator == "kubernetes":
        docs = kustomize(project / "deploy" / "kubernetes" / "overlays" / "prod")
    else:
        docs = helm_render(chart_dir(project))
    (rule,) = [doc for doc in docs if doc["kind"] == "PrometheusRule"]
    (service,) = [doc for doc in docs if doc["kind"] == "Service"]
    (monitor,) = [doc for doc in docs if doc["kind"] == "ServiceMonitor"]
    job_label = monitor["spec"].get("jobLabel")
    job = service["metadata"]["labels"][job_label] if job_label else service["metadata"]["name"]
    namespace = service["metadata"].get("namespace", "default")
    return rule, {"job": job, "namespace": namespace}


def alert(rule: dict, suffix: str) -> dict:
    (found,) = [r for group in rule["spec"]["groups"] for r in group["rules"] if r["alert"].endswith(suffix)]
    return found


def series(name: str, labels: dict, values: str) -> dict:
    text = ",".join(f'{key}="{value}"' for key, value in labels.items())
    return {"series": f"{name}{{{text}}}", "values": values}


def requests(target: dict, ok_per_minute: int, errors_per_minute: int) -> list[dict]:
    """http_requests_total from both pods: this many 200s and 500s a minute each, for 30 minutes."""
    out = []
    for pod in PODS:
        labels = {**target, "instance": f"{pod}:8080", "pod": pod, **ROUTE}
        out.append(series("http_requests_total", {**labels, "status": "200"}, f"0+{ok_per_minute}x30"))
        if errors_per_minute:
            out.append(
                series("http_requests_total", {**labels, "status": "500"}, f"0+{errors_per_minute}x30")
            )
    return out


def durations(target: dict, seconds: float) -> list[dict]:
    """http_request_duration_seconds_bucket from both pods: 10 requests a minute, each taking
    `seconds`."""
    out = []
    for pod in PODS:
        for le in BUCKETS:
            counted = le == "+Inf" or float(le) >= seconds
            labels = {**target, "instance": f"{pod}:8080", "pod": pod, **ROUTE, "le": le}
            out.append(
                series("http_request_duration_seconds_bucket", labels, "0+10x30" if counted else "0x30")
            )
    return out


def readiness(target: dict, app_0: str, app_1: str) -> list[dict]:
    """app_dependency_up for postgres, per pod (promtool's expanding notation, one value a minute)."""
    return [
        series(
            "app_dependency_up",
            {**target, "instance": f"{pod}:8080", "pod": pod, "service": "postgres"},
            values,
        )
        for pod, values in zip(PODS, (app_0, app_1), strict=True)
    ]


def expect(rule: dict, labels: dict | None = None) -> list[dict]:
    """The one alert `rule` should raise: its own labels plus `labels`, its summary expanded."""
    summary = rule["annotations"]["summary"].replace(
        "{{ $labels.service }}", (labels or {}).get("service", "")
    )
    assert "{{" not in summary, f"a template in the summary this test does not expand: {summary}"
    return [{"exp_labels": {**rule["labels"], **(labels or {})}, "exp_annotations": {"summary": summary}}]


def unit_tests(rule: dict, target: dict) -> list[dict]:
    errors, latency, ready = (alert(rule, s) for s in ("HighErrorRate", "HighLatency", "NotReady"))

    def case(name, input_series, checks):
        return {"name": name, "interval": "1m", "input_series": input_series, "alert_rule_test": checks}

    def at(minutes, rule, expected):
        return {"eval_time": f"{minutes}m", "alertname": rule["alert"], "exp_alerts": expected}

    return [
        # 10% of requests fail: pending while the condition is younger than `for` (10m), then firing.
        case(
            "error rate above the threshold",
            requests(target, 90, 10),
            [at(8, errors, []), at(15, errors, expect(errors))],
        ),
        case("error rate below the threshold", requests(target, 99, 1), [at(25, errors, [])]),
        case("no errors at all", requests(target, 100, 0), [at(25, errors, [])]),
        case(
            "every request takes 0.8 s",
            durations(target, 0.8),
            [at(8, latency, []), at(15, latency, expect(latency))],
        ),
        case("every request takes 0.08 s", durations(target, 0.08), [at(25, latency, [])]),
        # One pod cannot reach PostgreSQL for 10 minutes: the alert names the service.
        case(
            "a data service down for 10 minutes",
            readiness(target, "1 1 0x10 1x10", "1x22"),
            [at(4, ready, []), at(9, ready, expect(ready, {"service": "postgres"})), at(16, ready, [])],
        ),
        case(
            "a data service down for 3 minutes", readiness(target, "1 1 0x3 1x20", "1x25"), [at(5, ready, [])]
        ),
    ]


def write(directory: Path, rule: dict, target: dict) -> tuple[Path, Path]:
    rules = directory / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    tests = directory / "rules_test.yaml"
    tests.write_text(
        yaml.safe_dump(
            {"rule_files": [rules.name], "evaluation_interval": "1m", "tests": unit_tests(rule, target)},
            sort_keys=False,
        )
    )
    return rules, tests


@pytest.mark.parametrize("orchestrator", ["kubernetes", "helm"])
def test_alert_rules_pass_promtool_check(render, orchestrator, tmp_path):
    rule, target = rendered_rules(render, orchestrator)
    rules, _ = write(tmp_path, rule, target)
    proc = promtool("check", "rules", "--lint=all", "--lint-fatal", rules.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("orchestrator", ["kubernetes", "helm"])
def test_each_alert_fires_on_its_condition_and_only_then(render, orchestrator, tmp_path):
    rule, target = rendered_rules(render, orchestrator)
    _, tests = write(tmp_path, rule, target)
    proc = promtool("test", "rules", tests.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_promtool_refuses_a_broken_rule_and_a_wrong_job(render, tmp_path):
    """The checks above can fail: a rule that does not parse, and alerts reading another job's
    series (what a Service renamed without its rules would give) never fire."""
    rule, target = rendered_rules(render, "kubernetes")
    broken = yaml.safe_load(yaml.safe_dump(rule))
    broken["spec"]["groups"][0]["rules"][0]["expr"] = "sum(rate(http_requests_total[5m])"
    rules, _ = write(tmp_path, broken, target)
    assert promtool("check", "rules", rules.name, cwd=tmp_path).returncode != 0

    _, tests = write(tmp_path, rule, {**target, "job": "another-service"})
    proc = promtool("test", "rules", tests.name, cwd=tmp_path)
    assert proc.returncode != 0 and "HighErrorRate" in proc.stdout + proc.stderr


# --- the local stack: Prometheus in compose ---------------------------------------------------------


@pytest.mark.parametrize("orchestrator", ["kubernetes", "nomad"])
def test_compose_prometheus_scrapes_the_app_with_the_cluster_rules(render, orchestrator, tmp_path):
    """`make up`'s Prometheus: its config (with the rule file it names) passes `promtool check config`,
    it scrapes the compose app under the job the rules select, and the rules fire as the cluster's
    do (the same promtool unit tests); with Kubernetes they are the PrometheusRule's, unchanged."""
    project = render(Variant("python", orchestrator, DEFAULT.cloud, ("postgres",)))
    local = project / "observability"
    proc = promtool("check", "config", "--lint=all", "--lint-fatal", "prometheus.yml", cwd=local)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = yaml.safe_load((local / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    app_port = compose["services"]["app"]["ports"][0].rsplit(":", 1)[1]
    assert job["static_configs"] == [{"targets": [f"app:{app_port}"]}]
    mounted = compose["services"]["prometheus"]["volumes"]
    assert {"./observability/prometheus.yml:/etc/prometheus/prometheus.yml:ro"} <= set(mounted)
    assert "./observability/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounted, "the rule_files path"

    rules = yaml.safe_load((local / "alerts.yml").read_text())
    if orchestrator == "kubernetes":
        rule, _ = rendered_rules(render, "kubernetes")
        assert rules["groups"] == rule["spec"]["groups"]
    _, tests = write(tmp_path, {"spec": rules}, {"job": job["job_name"]})
    proc = promtool("test", "rules", tests.name, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_compose_grafana_and_jaeger_are_wired(render):
    """Grafana's provisioned data sources are the compose services Prometheus and Jaeger, on the
    ports those images serve; its dashboard folder holds the app's dashboard; the collector exports
    traces to Jaeger's OTLP port."""
    project = render(DEFAULT)
    compose = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    sources = yaml.safe_load((project / "observability" / "grafana" / "datasources.yaml").read_text())
    urls = {source["type"]: source["url"] for source in sources["datasources"]}
    assert urls == {"prometheus": "http://prometheus:9090", "jaeger": "http://jaeger:16686"}
    assert "127.0.0.1:9090:9090" in compose["prometheus"]["ports"]
    assert any(port.endswith(":16686") for port in compose["jaeger"]["ports"])
    providers = yaml.safe_load((project / "observability" / "grafana" / "dashboards.yaml").read_text())
    folder = providers["providers"][0]["options"]["path"]
    assert any(
        volume.startswith("./observability/grafana-dashboard.json:" + folder + "/")
        for volume in compose["grafana"]["volumes"]
    )
    collector = yaml.safe_load((project / "observability" / "otel-collector.yaml").read_text())
    assert collector["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"
    assert "otlp/jaeger" in collector["service"]["pipelines"]["traces"]["exporters"]
