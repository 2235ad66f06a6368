"""E2E tier: the generated app's server against real PostgreSQL and Redis on loopback."""

from __future__ import annotations

import http.server
import json
import os
import re
import secrets
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from matrix import Variant, implemented, load_extension, supported_services
from runtimes import Driver, healthcheck
from servers import Memcached, Postgres, RabbitMQ, Redis, free_port, wait_for_port

pytestmark = pytest.mark.e2e


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


@pytest.fixture
def servers():
    pg, redis = Postgres().start(), Redis().start()
    yield pg, redis
    redis.stop()
    pg.remove()


RUNTIMES = [
    Variant(rt, "kubernetes", "none", tuple(s for s in supported_services(rt) if s in ("postgres", "redis")))
    for rt in implemented("runtime")
]


@pytest.mark.parametrize("variant", RUNTIMES, ids=[v.id for v in RUNTIMES])
def test_app_against_real_postgres_and_redis(render, built, servers, variant):
    """Every runtime's server: /healthz, /readyz 200 then 503 per stopped server and back, /metrics, logs."""
    pg, redis = servers
    project = render(variant)
    built(project, variant.runtime)
    driver = Driver(variant.runtime)
    command = driver.server(project)
    port = free_port()
    env = {
        **driver.env(),
        "PORT": str(port),
        "DATABASE_URL": pg.url,
        "REDIS_URL": redis.url,
        "READY_TIMEOUT_SECONDS": "1",
        "LOG_LEVEL": "info",
    }
    proc = subprocess.Popen(
        command, cwd=project / "app", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_port(port, timeout=60)
        status, body = get(port, "/healthz")
        assert status == 200 and json.loads(body)["status"] == "ok"

        status, body = wait_ready(port, 200)
        assert status == 200, body
        assert json.loads(body)["checks"] == dict.fromkeys(variant.data_services, "ok")

        for name, server in (("redis", redis), ("postgres", pg)):
            if name not in variant.data_services:
                continue
            server.stop()
            status, body = wait_ready(port, 503)
            assert status == 503, body
            checks = json.loads(body)["checks"]
            assert checks[name] != "ok" and all(v == "ok" for k, v in checks.items() if k != name), checks
            assert get(port, "/healthz")[0] == 200, "liveness must not depend on data services"
            server.start()
            assert wait_ready(port, 200, timeout=30)[0] == 200, f"readiness must recover when {name} is back"

        metrics = get(port, "/metrics")[1]
        assert re.search(
            r'http_requests_total\{[^}]*route="/readyz"[^}]*status="503"[^}]*\}', metrics
        ) or re.search(r'http_requests_total\{[^}]*status="503"[^}]*\}', metrics), metrics[:2000]
        for name in variant.data_services:
            assert re.search(rf'app_dependency_up\{{service="{name}"\}} 1(\.0)?$', metrics, re.M), metrics[
                :2000
            ]
    finally:
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=40)
    assert proc.returncode in driver.clean_exit_codes(), err[-3000:]
    assert time.monotonic() - started < 25, "SIGTERM must stop the app within its grace period"
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert lines, "the app must log to stdout"
    assert all({"time", "level", "msg", "service"} <= set(line) for line in lines), lines[:3]
    assert "stopped" in [line["msg"] for line in lines]


# The runtimes whose config and `make run` contract these tests hold (exit 2, JSON error line).
CONTRACT = [v for v in RUNTIMES if v.runtime in ("python", "node")]


@pytest.mark.parametrize("variant", CONTRACT, ids=[v.runtime for v in CONTRACT])
def test_app_refuses_to_start_without_its_service_urls(render, built, variant):
    project = render(variant)
    built(project, variant.runtime)
    driver = Driver(variant.runtime)
    env = {key: value for key, value in driver.env().items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    proc = subprocess.run(
        driver.server(project),
        cwd=project / "app",
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    error = json.loads(proc.stdout.strip().splitlines()[-1])
    assert error["msg"] == "invalid configuration"
    assert "DATABASE_URL" in error["error"] and "REDIS_URL" in error["error"]


@pytest.mark.parametrize("variant", CONTRACT, ids=[v.runtime for v in CONTRACT])
def test_make_run_serves_the_app(render, built, servers, variant):
    """`make run` (what a developer types) starts the app with the settings in .env."""
    pg, redis = servers
    project = render(variant)
    built(project, variant.runtime)
    port = free_port()
    (project / ".env").write_text(f"PORT={port}\nDATABASE_URL={pg.url}\nREDIS_URL={redis.url}\n")
    proc = subprocess.Popen(
        ["make", "run"],
        cwd=project,
        env=Driver(variant.runtime).env(),
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


NODE = Variant("node", "kubernetes", "none", ("postgres", "redis"))


def test_node_app_migrates_uses_its_services_and_passes_its_healthcheck(render, built, servers):
    """The Node app's migration step (with DATABASE_URL alone, as compose and the initContainer run
    it; twice: it is idempotent), its real uses, and the image's HEALTHCHECK command."""
    pg, redis = servers
    project = render(NODE)
    built(project, "node")
    driver = Driver("node")
    app = project / "app"
    base = {key: value for key, value in driver.env().items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    for _ in range(2):
        migrate = subprocess.run(
            driver.migration(project),
            cwd=app,
            env={**base, "DATABASE_URL": pg.url},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        assert json.loads(migrate.stdout.splitlines()[-1])["msg"] == "migrated"
    port = free_port()
    env = {**base, "PORT": str(port), "DATABASE_URL": pg.url, "REDIS_URL": redis.url}
    proc = subprocess.Popen(
        driver.server(project), cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_port(port)
        assert wait_ready(port, 200)[0] == 200
        assert post(port, "/api/postgres/visits") == (200, {"visits": 1})
        assert post(port, "/api/postgres/visits") == (200, {"visits": 2})
        assert post(port, "/api/redis/hits") == (200, {"hits": 1})
        assert post(port, "/api/redis/hits") == (200, {"hits": 2})
        check = subprocess.run(healthcheck(project), cwd=app, env=env, capture_output=True, timeout=10)
        assert check.returncode == 0, "the image's HEALTHCHECK command must pass against a live app"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    check = subprocess.run(healthcheck(project), cwd=app, env=env, capture_output=True, timeout=10)
    assert check.returncode != 0, "the HEALTHCHECK must fail when nothing answers"
    levels = {json.loads(line)["level"] for line in out.splitlines() if line.strip()}
    assert levels <= {"DEBUG", "INFO", "WARN", "ERROR"}, levels


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
        body = error.read()
        assert error.headers.get_content_type() == "application/json" or not body, body
        return error.code, json.loads(body or b"{}")


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
        server.remove()


def test_every_installable_service_is_used_for_real_and_gates_readiness(render, built, every_server):
    """PostgreSQL, Redis, Memcached and RabbitMQ: migration, one real use each, readiness per server."""
    project = render(REAL)
    python = built(project)
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


MIGRATING = [
    Variant(rt, "kubernetes", "none", ("postgres",))
    for rt in implemented("runtime")
    if "migrate_command" in load_extension().catalog.RUNTIMES[rt]
]


@pytest.mark.parametrize("variant", MIGRATING, ids=[v.runtime for v in MIGRATING])
def test_migration_step_then_postgres_visits(render, built, variant):
    """The image's migration step (the catalog's migrate_command, as compose, the initContainer and the
    Helm hook run it: DATABASE_URL alone, twice since it must be idempotent), then the app's real use of
    the table it made: POST /api/postgres/visits counts up, and fails without crashing while PostgreSQL
    is down."""
    pg = Postgres().start()
    try:
        project = render(variant)
        built(project, variant.runtime)
        driver = Driver(variant.runtime)
        app = project / "app"
        base = {key: value for key, value in driver.env().items() if key != "DATABASE_URL"}
        for _ in range(2):
            migrate = subprocess.run(
                driver.migration(project),
                cwd=app,
                env={**base, "DATABASE_URL": pg.url},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert migrate.returncode == 0, migrate.stdout + migrate.stderr
            assert json.loads(migrate.stdout.splitlines()[-1])["msg"] == "migrated"
        port = free_port()
        env = {**base, "PORT": str(port), "DATABASE_URL": pg.url, "READY_TIMEOUT_SECONDS": "1"}
        proc = subprocess.Popen(
            driver.server(project),
            cwd=app,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for_port(port, timeout=60)
            assert wait_ready(port, 200)[0] == 200
            assert post(port, "/api/postgres/visits") == (200, {"visits": 1})
            assert post(port, "/api/postgres/visits") == (200, {"visits": 2})
            pg.stop()
            status, _ = post(port, "/api/postgres/visits")
            assert status >= 500, "a visit cannot be recorded while PostgreSQL is down"
            assert get(port, "/healthz")[0] == 200, "the app keeps running"
            pg.start()
            assert wait_ready(port, 200, timeout=30)[0] == 200
            assert post(port, "/api/postgres/visits") == (200, {"visits": 3})
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=40)
        assert proc.returncode in driver.clean_exit_codes()
    finally:
        pg.remove()


TRACED = [
    Variant(rt, "kubernetes", "none", ())
    for rt in implemented("runtime")
    if load_extension().catalog.RUNTIMES[rt].get("traces")
]


class Collector(http.server.ThreadingHTTPServer):
    """A stand-in OpenTelemetry collector on loopback: keeps every OTLP/HTTP body posted to /v1/traces."""

    def __init__(self) -> None:
        self.bodies: list[tuple[str, bytes]] = []
        bodies = self.bodies

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path == "/v1/traces":
                    bodies.append((self.headers.get_content_type(), body))
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def trace_ids(self) -> set[str]:
        """Trace ids of every span received, whichever OTLP encoding the app chose."""
        found = set()
        for content_type, body in self.bodies:
            if content_type == "application/json":
                for resource in json.loads(body)["resourceSpans"]:
                    for scope in resource["scopeSpans"]:
                        found.update(span["traceId"] for span in scope["spans"])
            else:  # protobuf: a Span's trace_id is field 1, 16 raw bytes (tag 0x0a, length 0x10)
                found.update(m.group(1).hex() for m in re.finditer(rb"\x0a\x10(.{16})", body, re.S))
        return found


@pytest.mark.parametrize("variant", TRACED, ids=[v.runtime for v in TRACED])
def test_traces_reach_the_collector_and_label_the_logs(render, built, variant):
    """With OTEL_EXPORTER_OTLP_ENDPOINT set, a request that carries a W3C traceparent is exported as a
    span of the caller's trace, and the app's log line for it carries the same trace_id."""
    project = render(variant)
    built(project, variant.runtime)
    driver = Driver(variant.runtime)
    collector = Collector()
    port = free_port()
    env = {
        **driver.env(),
        "PORT": str(port),
        "LOG_LEVEL": "debug",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    }
    trace_id = secrets.token_hex(16)
    proc = subprocess.Popen(
        driver.server(project),
        cwd=project / "app",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, timeout=60)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/healthz", headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        assert eventually(lambda: trace_id in collector.trace_ids(), timeout=20), collector.bodies[:2]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=40)
        collector.shutdown()
    lines = [json.loads(line) for line in out.splitlines() if line.strip().startswith("{")]
    requests = [line for line in lines if line["msg"] == "request" and line.get("path") == "/healthz"]
    assert requests and requests[0].get("trace_id") == trace_id, (requests, err[-2000:])
