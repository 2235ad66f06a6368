"""E2E tier: the generated app's server against real data servers on loopback: PostgreSQL, Redis,
Memcached and RabbitMQ from Debian, MongoDB's wire protocol from FerretDB, and an Apache Kafka broker."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from matrix import Variant, implemented, load_extension, supported_services
from runtimes import Driver, healthcheck
from servers import FerretDB, Kafka, Memcached, Postgres, RabbitMQ, Redis, free_port, wait_for_port

pytestmark = pytest.mark.e2e


def get(port: int, path: str) -> tuple[int, str]:
    """(status, body); (0, "timed out") when no answer came within 5 s."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except TimeoutError:
        return 0, "timed out"


def wait_ready(port: int, expected: int, timeout: float = 15.0) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    while True:
        status, body = get(port, "/readyz")
        if status == expected or time.monotonic() > deadline:
            return status, body
        time.sleep(0.2)


def migrate_twice(driver: Driver, project, env: dict, database_url: str) -> None:
    """The image's migration step as compose, the initContainer and the Helm hook run it: with
    DATABASE_URL alone, and twice, since it must be idempotent (it runs before every start)."""
    for _ in range(2):
        migrate = subprocess.run(
            driver.migration(project),
            cwd=project / "app",
            env={**env, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        assert json.loads(migrate.stdout.splitlines()[-1])["msg"] == "migrated", migrate.stdout


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
    port = free_port()
    env = {
        **driver.env(),
        "PORT": str(port),
        "DATABASE_URL": pg.url,
        "REDIS_URL": redis.url,
        "READY_TIMEOUT_SECONDS": "1",
        "LOG_LEVEL": "info",
    }
    proc = driver.start(project, env)
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
CONTRACT = [v for v in RUNTIMES if v.runtime in ("python", "node", "go", "java")]


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
    services = load_extension().catalog.DATA_SERVICES
    assert all(services[name]["env"] in error["error"] for name in variant.data_services), error


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
    migrate_twice(driver, project, base, pg.url)
    port = free_port()
    env = {**base, "PORT": str(port), "DATABASE_URL": pg.url, "REDIS_URL": redis.url}
    proc = driver.start(project, env)
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


# Every data service, each with a real server (FerretDB speaks MongoDB's wire protocol).
INSTALLABLE = ("postgres", "mongodb", "redis", "memcached", "kafka", "rabbitmq")
REAL = [
    Variant(rt, "kubernetes", "none", INSTALLABLE)
    for rt in implemented("runtime")
    if set(INSTALLABLE) <= set(supported_services(rt))
]


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
        assert (
            error.headers.get_content_type() in ("application/json", "application/problem+json") or not body
        ), body
        return error.code, json.loads(body or b"{}")


def publish(port: int, broker: str, message: str) -> int:
    return post(port, f"/api/{broker}/events", {"message": message})[0]


def events(port: int, broker: str) -> dict:
    return json.loads(get(port, f"/api/{broker}/events")[1])


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
        "mongodb": FerretDB().start(),
        "kafka": Kafka().start(),
    }
    yield servers
    for server in servers.values():
        server.remove()


@pytest.mark.parametrize("variant", REAL, ids=[v.runtime for v in REAL])
def test_every_service_is_used_for_real_and_gates_readiness(render, built, every_server, variant):
    """All six data services: the migration step (with DATABASE_URL alone, twice: it is idempotent),
    one real use each, and per server: stopped, /readyz is 503 naming it and its use 503 naming it;
    started again, the app recovers without a restart."""
    project = render(variant)
    built(project, variant.runtime)
    driver = Driver(variant.runtime)
    base = {key: value for key, value in driver.env().items() if not key.endswith(("_URL", "_SERVERS"))}
    migrate_twice(driver, project, base, every_server["postgres"].url)
    port = free_port()
    env = {
        **base,
        "PORT": str(port),
        "READY_TIMEOUT_SECONDS": "1",
        "SERVICE_NAME": "e2e",
        "DATABASE_URL": every_server["postgres"].url,
        "REDIS_URL": every_server["redis"].url,
        "MEMCACHED_SERVERS": every_server["memcached"].url,
        "RABBITMQ_URL": every_server["rabbitmq"].url,
        "MONGODB_URL": every_server["mongodb"].url,
        "KAFKA_BROKERS": every_server["kafka"].url,
    }
    proc = driver.start(project, env)
    try:
        wait_for_port(port, timeout=60)
        status, body = wait_ready(port, 200, timeout=30)
        assert status == 200, body
        assert set(json.loads(body)["checks"]) == set(variant.data_services)

        assert post(port, "/api/postgres/visits") == (200, {"visits": 1})
        assert post(port, "/api/postgres/visits") == (200, {"visits": 2})
        assert post(port, "/api/redis/hits") == (200, {"hits": 1})
        first = json.loads(get(port, "/api/memcached/greeting")[1])
        second = json.loads(get(port, "/api/memcached/greeting")[1])
        assert first["cached"] is False and second == {**first, "cached": True}

        assert post(port, "/api/mongodb/notes", {"text": "first"}) == (200, {"notes": 1})
        assert post(port, "/api/mongodb/notes", {})[0] == 422, "a note needs text"
        for broker in ("rabbitmq", "kafka"):
            assert post(port, f"/api/{broker}/events", {})[0] == 422, "an event needs a message"
            assert publish(port, broker, "hello") == 202, broker
            consumed = eventually(lambda b=broker: events(port, b)["consumed"] >= 1, timeout=60)
            assert consumed, f"the {broker} consumer must receive the published event"
            assert events(port, broker) == {"consumed": 1, "last": "hello"}

        uses = {
            "postgres": lambda: post(port, "/api/postgres/visits"),
            "mongodb": lambda: post(port, "/api/mongodb/notes", {"text": "down"}),
            "redis": lambda: post(port, "/api/redis/hits"),
            "memcached": lambda: (lambda answer: (answer[0], json.loads(answer[1])))(
                get(port, "/api/memcached/greeting")
            ),
            "kafka": lambda: post(port, "/api/kafka/events", {"message": "down"}),
            "rabbitmq": lambda: post(port, "/api/rabbitmq/events", {"message": "down"}),
        }
        for name in ("memcached", "rabbitmq", "kafka", "mongodb", "postgres", "redis"):
            server = every_server[name]
            server.stop()
            status, body = wait_ready(port, 503)
            assert status == 503 and json.loads(body)["checks"][name] != "ok", (name, body)
            status, problem = uses[name]()
            assert status == 503 and problem.get("detail") == f"{name} is unavailable", (name, problem)
            server.start()
            status, body = wait_ready(port, 200, timeout=60)
            assert status == 200, (name, body)

        # After their brokers came back, the consumers reconnect: events flow again.
        for broker in ("rabbitmq", "kafka"):
            status = eventually(lambda b=broker: publish(port, b, "again") == 202, timeout=60)
            assert status, f"publishing to {broker} must recover"
            assert eventually(lambda b=broker: events(port, b)["last"] == "again", timeout=60), broker
        assert post(port, "/api/postgres/visits") == (200, {"visits": 3}), "the table survives a restart"
        assert post(port, "/api/mongodb/notes", {"text": "again"}) == (200, {"notes": 2})
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode in driver.clean_exit_codes(), err[-3000:]


class OTLPSink:
    """A stand-in OpenTelemetry collector on loopback: records every OTLP/HTTP export it receives."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        sink = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    body = b""
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        body += self.rfile.read(size)
                        self.rfile.readline()
                    self.rfile.readline()
                else:
                    body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                content_type = self.headers.get("Content-Type", "")
                sink.requests.append((self.path, content_type, body))
                reply = b"{}" if "json" in content_type else b""
                self.send_response(200)
                self.send_header("Content-Type", content_type or "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# The runtimes whose app exports traces (observability on, the default): the catalog says which.
TRACING = [
    Variant(rt, "kubernetes", "none", ())
    for rt in implemented("runtime")
    if load_extension().catalog.RUNTIMES[rt].get("traces")
]


CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.parametrize("variant", TRACING, ids=[v.runtime for v in TRACING])
def test_app_exports_request_spans_over_otlp_and_logs_their_ids(render, built, variant):
    """With OTEL_EXPORTER_OTLP_ENDPOINT set, a request's server span reaches the collector at
    /v1/traces with this service's name and version, continuing the caller's W3C traceparent, and the
    request's log line carries its trace id."""
    project = render(variant)
    built(project, variant.runtime)
    driver = Driver(variant.runtime)
    sink = OTLPSink()
    port = free_port()
    env = {
        **driver.env(),
        "PORT": str(port),
        "SERVICE_NAME": "traced-svc",
        "SERVICE_VERSION": "9.8.7",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
    }
    proc = driver.start(project, env)
    try:
        wait_for_port(port, timeout=60)
        caller = urllib.request.Request(
            f"http://127.0.0.1:{port}/", headers={"traceparent": f"00-{CALLER_TRACE}-00f067aa0ba902b7-01"}
        )
        with urllib.request.urlopen(caller, timeout=5) as response:
            assert response.status == 200
        # Spans leave in batches (every few seconds), and at the latest when the app stops.
        eventually(lambda: sink.requests, timeout=15)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        sink.close()
    assert proc.returncode in driver.clean_exit_codes(), err[-3000:]
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    (request,) = [line for line in lines if line["msg"] == "request" and line.get("path") == "/"]
    trace_id, span_id = request["trace_id"], request["span_id"]
    assert trace_id == CALLER_TRACE, "the server span continues the caller's trace"
    assert re.fullmatch(r"[0-9a-f]{16}", span_id) and span_id != "00f067aa0ba902b7", request
    assert sink.requests, "no spans reached the collector"
    assert {path for path, _, _ in sink.requests} == {"/v1/traces"}
    exported = b"".join(body for _, _, body in sink.requests)
    # OTLP/JSON spells ids in hex, OTLP/protobuf as raw bytes.
    assert trace_id.encode() in exported or bytes.fromhex(trace_id) in exported, "trace not exported"
    assert span_id.encode() in exported or bytes.fromhex(span_id) in exported, "span not exported"
    assert b"traced-svc" in exported and b"9.8.7" in exported, "service.name/version from the settings"


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
        base = {key: value for key, value in driver.env().items() if key != "DATABASE_URL"}
        migrate_twice(driver, project, base, pg.url)
        port = free_port()
        env = {**base, "PORT": str(port), "DATABASE_URL": pg.url, "READY_TIMEOUT_SECONDS": "1"}
        proc = driver.start(project, env)
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
