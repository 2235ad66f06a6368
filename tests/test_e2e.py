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

from matrix import DEFAULT, Variant, implemented
from runtimes import DRIVERS, driver, healthcheck_argv
from servers import Memcached, Postgres, RabbitMQ, Redis, free_port, wait_for_port

pytestmark = pytest.mark.e2e

# The default answers, once per implemented runtime that has a test driver (tests/runtimes.py).
VARIANTS = [
    dataclasses.replace(DEFAULT, runtime=runtime) for runtime in implemented("runtime") if runtime in DRIVERS
]
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

        # Each service's real use: the migration step (what compose and the initContainer run), then
        # the visits table and the hit counter.
        migrate = subprocess.run(
            runtime.migrate, cwd=app, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        assert post(port, "/api/postgres/visits") == (200, {"visits": 1})
        assert post(port, "/api/postgres/visits") == (200, {"visits": 2})
        assert post(port, "/api/redis/hits") == (200, {"hits": 1})

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


REAL = Variant("python", "kubernetes", "none", ("postgres", "redis", "memcached", "rabbitmq"))


def post(port: int, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def eventually(fn, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


@pytest.fixture
def every_server():
    servers = {
        "postgres": Postgres().start(),
        "redis": Redis().start(),
        "memcached": Memcached().start(),
        "rabbitmq": RabbitMQ().start(),
    }
    yield servers
    for server in servers.values():
        getattr(server, "remove", server.stop)()


def test_every_installable_service_is_used_for_real_and_gates_readiness(render, built, every_server):
    """PostgreSQL, Redis, Memcached and RabbitMQ: migration, one real use each, readiness per server."""
    project = render(REAL)
    python = built(project) / ".venv" / "bin" / "python"
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "READY_TIMEOUT_SECONDS": "1",
        "SERVICE_NAME": "e2e",
        "DATABASE_URL": every_server["postgres"].url,
        "REDIS_URL": every_server["redis"].url,
        "MEMCACHED_SERVERS": every_server["memcached"].url,
        "RABBITMQ_URL": every_server["rabbitmq"].url,
    }
    migrate = subprocess.run(
        [str(python), "-m", "service.migrate"],
        cwd=project / "app",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    proc = subprocess.Popen(
        [str(python), "-m", "service"],
        cwd=project / "app",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port)
        status, body = wait_ready(port, 200, timeout=30)
        assert status == 200, body
        assert set(json.loads(body)["checks"]) == set(REAL.data_services)

        assert post(port, "/api/postgres/visits") == (200, {"visits": 1})
        assert post(port, "/api/postgres/visits") == (200, {"visits": 2})
        assert post(port, "/api/redis/hits") == (200, {"hits": 1})
        first = json.loads(get(port, "/api/memcached/greeting")[1])
        second = json.loads(get(port, "/api/memcached/greeting")[1])
        assert first["cached"] is False and second == {**first, "cached": True}

        status, _ = eventually(
            lambda: (s := post(port, "/api/rabbitmq/events", {"message": "hello"}))[0] == 202 and s
        )
        assert status == 202
        consumed = eventually(lambda: json.loads(get(port, "/api/rabbitmq/events")[1])["consumed"] >= 1)
        assert consumed, "the background consumer must receive the published event"
        assert json.loads(get(port, "/api/rabbitmq/events")[1]) == {"consumed": 1, "last": "hello"}

        for name in ("memcached", "rabbitmq", "postgres", "redis"):
            server = every_server[name]
            server.stop()
            status, body = wait_ready(port, 503)
            assert status == 503 and json.loads(body)["checks"][name] != "ok", (name, body)
            server.start()
            status, body = wait_ready(port, 200, timeout=60)
            assert status == 200, (name, body)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_node_migration_needs_only_the_database(render, built, servers):
    """Compose and the initContainer give the migration step DATABASE_URL alone (no REDIS_URL)."""
    pg, _ = servers
    app = built(render(dataclasses.replace(DEFAULT, runtime="node")))
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env["DATABASE_URL"] = pg.url
    for _ in range(2):  # idempotent: safe before every start
        proc = subprocess.run(
            driver("node").migrate, cwd=app, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert json.loads(proc.stdout.splitlines()[-1])["msg"] == "migrated"
