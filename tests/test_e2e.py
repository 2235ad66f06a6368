"""E2E tier: each runtime's generated server against real PostgreSQL and Redis on loopback."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from matrix import DEFAULT, implemented
from runtimes import driver, healthcheck_argv
from servers import Postgres, Redis, free_port, wait_for_port

pytestmark = pytest.mark.e2e

# The default answers, once per implemented runtime.
VARIANTS = [dataclasses.replace(DEFAULT, runtime=runtime) for runtime in implemented("runtime")]
per_runtime = pytest.mark.parametrize("variant", VARIANTS, ids=[v.runtime for v in VARIANTS])


def get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_ready(port: int, expected: int, timeout: float = 15.0) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = get(port, "/readyz")
        if status == expected or time.monotonic() > deadline:
            return status, body
        time.sleep(0.2)


def sample(metrics: str, name: str, labels: str) -> float | None:
    """The value of one Prometheus sample, whatever the client library's number format."""
    match = re.search(rf"^{re.escape(name + '{' + labels + '}')} (\S+)$", metrics, re.M)
    return float(match.group(1)) if match else None


@pytest.fixture
def servers():
    pg, redis = Postgres().start(), Redis().start()
    yield pg, redis
    redis.stop()
    pg.remove()


@per_runtime
def test_app_against_real_postgres_and_redis(render, built, servers, variant):
    pg, redis = servers
    app = built(render(variant))
    runtime = driver(variant.runtime)
    port = free_port()
    env = {
        **os.environ,
        "PATH": runtime.path(app, os.environ["PATH"]),
        "PORT": str(port),
        "DATABASE_URL": pg.url,
        "REDIS_URL": redis.url,
        "READY_TIMEOUT_SECONDS": "1",
        "LOG_LEVEL": "info",
    }
    proc = subprocess.Popen(
        runtime.serve, cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_port(port)
        assert get(port, "/healthz") == (200, '{"status":"ok"}')
        health = subprocess.run(healthcheck_argv(app), cwd=app, env=env, capture_output=True, timeout=10)
        assert health.returncode == 0, "the image's HEALTHCHECK command must pass against a live app"

        status, body = wait_ready(port, 200)
        assert status == 200, body
        assert json.loads(body) == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}

        redis.stop()
        status, body = wait_ready(port, 503)
        assert status == 503, body
        checks = json.loads(body)["checks"]
        assert checks["postgres"] == "ok" and checks["redis"] != "ok"
        assert get(port, "/healthz")[0] == 200, "liveness must not depend on data services"

        redis.start()
        assert wait_ready(port, 200)[0] == 200, "readiness must recover when Redis is back"

        pg.stop()
        status, body = wait_ready(port, 503)
        assert status == 503 and json.loads(body)["checks"]["postgres"] != "ok", body
        pg.start()
        assert wait_ready(port, 200)[0] == 200, "readiness must recover when PostgreSQL is back"

        metrics = get(port, "/metrics")[1]
        assert sample(metrics, "http_requests_total", 'method="GET",route="/readyz",status="503"') >= 2
        assert sample(metrics, "http_requests_total", 'method="GET",route="/healthz",status="200"') >= 2
        assert sample(metrics, "app_dependency_up", 'service="redis"') == 1
        assert sample(metrics, "app_dependency_up", 'service="postgres"') == 1
        assert "http_request_duration_seconds_bucket{" in metrics
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert time.monotonic() - started < 25, "SIGTERM must stop the app within its grace period"
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines, "the app must log to stdout"
    messages = [line["msg"] for line in lines]
    assert "started" in messages and "stopped" in messages, messages
    assert all({"time", "level", "msg", "service"} <= set(line) for line in lines)
    assert {line["level"] for line in lines} <= {"debug", "info", "warning", "error"}
    assert any(line["msg"] == "not ready" and "redis" in line["checks"] for line in lines)


@per_runtime
def test_app_refuses_to_start_without_its_service_urls(render, built, variant):
    app = built(render(variant))
    runtime = driver(variant.runtime)
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env["PATH"] = runtime.path(app, env["PATH"])
    proc = subprocess.run(
        runtime.serve, cwd=app, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 2
    error = json.loads(proc.stdout.strip().splitlines()[-1])
    assert error["msg"] == "invalid configuration" and error["level"] == "error"
    assert "DATABASE_URL" in error["error"] and "REDIS_URL" in error["error"]


@per_runtime
def test_make_run_serves_the_app(render, built, servers, variant):
    """`make run` (what a developer types) starts the app with the settings in .env."""
    pg, redis = servers
    project = render(variant)
    built(project)
    port = free_port()
    (project / ".env").write_text(f"PORT={port}\nDATABASE_URL={pg.url}\nREDIS_URL={redis.url}\n")
    proc = subprocess.Popen(
        ["make", "run"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        wait_for_port(port)
        assert wait_ready(port, 200)[0] == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
        (project / ".env").unlink()
