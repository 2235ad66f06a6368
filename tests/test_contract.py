"""Contract tier: the runtime contract (DESIGN.md, "The runtime contract"; README, "The contract"),
checked point by point against every runtime's live server, the same checks for all four.

One app per runtime serves the whole module: built once, migrated, started against real PostgreSQL,
Redis and FerretDB (MongoDB's wire protocol) on loopback, with a stand-in OTLP collector. Each test
checks one point; the SIGTERM test stops the app and runs last. Logs are read as the app writes
them, in the Elastic Common Schema: nested objects and dotted keys are the same field to ECS, so a
line is flattened to dotted names first, and a name written both ways counts as a duplicate.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from matrix import Variant, implemented, load_extension
from otlp import OTLPSink
from runtimes import Captured, Driver
from servers import POOL_SIZE, Connections, FerretDB, Postgres, Redis, free_port, wait_for_port

pytestmark = pytest.mark.contract

SERVICES = ("postgres", "mongodb", "redis")
CATALOG = load_extension().catalog
LEVELS = {"debug", "info", "warn", "error"}
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def _params():
    # One xdist group per runtime: its tests share one running app, so they run on one worker.
    for runtime in implemented("runtime"):
        variant = Variant(runtime, "kubernetes", "none", SERVICES)
        yield pytest.param(variant, id=runtime, marks=pytest.mark.xdist_group(f"contract-{runtime}"))


# --- HTTP ---------------------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    content_type: str
    body: str

    def json(self):
        return json.loads(self.body)


def call(port: int, path: str, method: str = "GET", body: dict | None = None, headers=None) -> Answer:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=data,
        method=method,
        headers={**({"Content-Type": "application/json"} if data is not None else {}), **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, response.headers.get_content_type(), response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.headers.get_content_type(), error.read().decode())


def wait_ready(port: int, expected: int, timeout: float = 60.0) -> Answer:
    deadline = time.monotonic() + timeout
    while True:
        answer = call(port, "/readyz")
        if answer.status == expected or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def assert_problem(answer: Answer, status: int, detail: str | None = None) -> dict:
    """An RFC 9457 problem: application/problem+json, `status` and `title` (`type` about:blank or
    absent, which means the same), a detail if one is expected, and no driver text or address."""
    assert answer.status == status, answer
    assert answer.content_type == "application/problem+json", answer
    problem = answer.json()
    assert problem["status"] == status and problem["title"], problem
    assert problem.get("type", "about:blank") == "about:blank", problem
    if detail is not None:
        assert problem.get("detail") == detail, problem
    # no address, port, exception name or stack frame ("at x.y(", "at f (file:1:2)")
    leak = r"127\.0\.0\.1|:\d{4,5}\b|Exception|Error:|\bat [\w.$<>]+ ?\("
    assert not re.search(leak, answer.body), answer.body
    return problem


# --- logs ----------------------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys in a log line: {keys}"
    return dict(pairs)


def flatten(entry: dict, prefix: str = "") -> dict:
    """ECS field names: {"log": {"level": "info"}} and {"log.level": "info"} are both log.level."""
    flat: dict = {}
    for key, value in entry.items():
        name = f"{prefix}{key}"
        items = flatten(value, f"{name}.") if isinstance(value, dict) and value else {name: value}
        for inner, inner_value in items.items():
            assert inner not in flat, f"{inner} written twice (dotted and nested) in {entry}"
            flat[inner] = inner_value
    return flat


def parse_logs(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if not line.strip():
            continue
        assert "\x1b" not in line, f"ANSI escape in a log line: {line!r}"
        entry = json.loads(line, object_pairs_hook=_no_duplicates)
        assert isinstance(entry, dict), line
        lines.append(flatten(entry))
    return lines


# --- the app under test ----------------------------------------------------------------------------------


@dataclass
class App:
    variant: Variant
    driver: Driver
    project: object
    port: int
    env: dict
    servers: dict
    sink: OTLPSink
    proc: Captured
    stopped: dict = field(default_factory=dict)

    def logs(self, until=None, timeout: float = 10.0) -> list[dict]:
        """Every line the app has logged so far, parsed and flattened. With `until`, waits up to
        `timeout` for the lines it accepts: some apps log a request after its response has left."""
        deadline = time.monotonic() + timeout
        while True:
            lines = parse_logs(self.proc.output_so_far())
            if until is None or until(lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.1)

    def stop(self) -> dict:
        """SIGTERM, once: exit status, seconds to exit, and the final logs."""
        if not self.stopped:
            started = time.monotonic()
            self.proc.send_signal(signal.SIGTERM)
            out, err = self.proc.communicate(timeout=60)
            self.stopped.update(
                returncode=self.proc.returncode, seconds=time.monotonic() - started, out=out, err=err
            )
        return self.stopped


def built_app(render, built, variant: Variant) -> tuple:
    """The variant rendered and installed: (project, its driver, env without data-service URLs)."""
    project = built(render(variant), variant.runtime)
    driver = Driver(variant.runtime)
    return project, driver, driver.base_env()


def once_per_session(tmp_path_factory, variant: Variant) -> None:
    """Under pytest-xdist, a runtime's app must start once per session: if its group split across
    workers, the tests that rely on one app's history (counters, the trace, SIGTERM last) are not
    checking what they say."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return
    marker = tmp_path_factory.getbasetemp().parent / f"contract-app-{variant.runtime}"
    try:
        marker.touch(exist_ok=False)
    except FileExistsError:
        pytest.fail(f"the {variant.runtime} app started on a second worker: its xdist group did not hold")


@pytest.fixture(scope="module", params=list(_params()))
def app(request, render, built, tmp_path_factory):
    variant = request.param
    once_per_session(tmp_path_factory, variant)
    project, driver, base = built_app(render, built, variant)
    servers = {"postgres": Postgres().start(), "redis": Redis().start(), "mongodb": FerretDB().start()}
    sink = OTLPSink()
    step = driver.migrate(project, base, servers["postgres"].url)
    assert step.returncode == 0, step.stdout + step.stderr
    port = free_port()
    services = CATALOG.DATA_SERVICES
    env = {
        **base,
        "PORT": str(port),
        "LOG_LEVEL": "info",
        "READY_TIMEOUT_SECONDS": "1",
        "SERVICE_NAME": "contract-svc",
        "SERVICE_VERSION": "9.8.7",
        "OTEL_EXPORTER_OTLP_ENDPOINT": sink.endpoint,
        **{services[name]["env"]: server.url for name, server in servers.items()},
    }
    proc = driver.start(project, env)
    app = App(variant, driver, project, port, env, servers, sink, proc)
    try:
        wait_for_port(port, timeout=90)
        assert wait_ready(port, 200).status == 200
        yield app
    finally:
        if proc.poll() is None:
            app.stop()
        sink.close()
        for server in servers.values():
            server.remove()


# --- the contract, point by point --------------------------------------------------------------------


def test_healthz_is_200_ok_and_checks_nothing(app):
    answer = call(app.port, "/healthz")
    assert (answer.status, answer.content_type, answer.json()) == (200, "application/json", {"status": "ok"})


def test_readyz_is_200_naming_every_service(app):
    answer = call(app.port, "/readyz")
    assert answer.status == 200 and answer.content_type == "application/json", answer
    assert answer.json() == {"status": "ok", "checks": dict.fromkeys(SERVICES, "ok")}


def test_each_service_has_its_real_use(app):
    before = call(app.port, "/api/postgres/visits", "POST", {}).json()["visits"]
    assert call(app.port, "/api/postgres/visits", "POST", {}).json() == {"visits": before + 1}
    hits = call(app.port, "/api/redis/hits", "POST", {}).json()["hits"]
    assert call(app.port, "/api/redis/hits", "POST", {}).json() == {"hits": hits + 1}
    notes = call(app.port, "/api/mongodb/notes", "POST", {"text": "contract"})
    assert notes.status == 200 and notes.json()["notes"] >= 1, notes


POOL_ROUND = [("/readyz", "GET"), ("/api/postgres/visits", "POST"), ("/api/redis/hits", "POST")] * 100
POOL_CALLERS = 16


def test_requests_and_probes_share_pools_made_once(app):
    """Every data service is reached through a bounded pool made once, which readiness shares: two
    rounds of 300 requests and probes, 16 at a time, open no more PostgreSQL or Redis connections
    than a pool holds (a client without a pool would open hundreds), counted by the servers' own
    connection counts. Whether readiness stays 200 under load is the benchmark's measure
    (scripts/bench_apps.py): here, with a 1 s check timeout on a shared CI machine, a probe may
    answer 503; it must still have answered."""
    connections = Connections(app.servers["postgres"], app.servers["redis"])
    before = connections.snapshot()
    for _ in range(2):
        with ThreadPoolExecutor(POOL_CALLERS) as pool:
            answers = list(pool.map(lambda target: (target, call(app.port, *target)), POOL_ROUND))
        uses = [(path, a.status) for (path, _), a in answers if path != "/readyz" and a.status != 200]
        assert uses == [], "every real use answers 200"
        probes = {a.status for (path, _), a in answers if path == "/readyz"}
        assert probes <= {200, 503}, probes
    opened = connections.opened_since(before)
    assert max(opened) <= POOL_SIZE, f"(PostgreSQL, Redis) connections opened by 600 requests: {opened}"


def test_a_service_down_is_503_naming_it_on_readyz_and_on_its_use_then_recovers(app):
    redis = app.servers["redis"]
    redis.stop()
    try:
        ready = wait_ready(app.port, 503, timeout=30)
        assert ready.status == 503, ready
        assert ready.json() == {
            "status": "unavailable",
            "checks": {**dict.fromkeys(SERVICES, "ok"), "redis": "unavailable"},
        }, "only the failing service is named, without its driver's error"
        assert not re.search(r"127\.0\.0\.1|\d{4,5}|refused", ready.body), ready.body
        assert call(app.port, "/healthz").status == 200, "liveness checks no data service"
        assert_problem(call(app.port, "/api/redis/hits", "POST", {}), 503, "redis is unavailable")
    finally:
        redis.start()
    assert wait_ready(app.port, 200).status == 200, "readiness recovers without a restart"
    assert call(app.port, "/api/redis/hits", "POST", {}).status == 200


def test_an_unknown_route_is_a_404_problem(app):
    assert_problem(call(app.port, "/no/such/route"), 404)


@pytest.mark.parametrize("body", [{}, {"text": 5}, {"text": ""}], ids=["missing", "wrong-type", "empty"])
def test_an_invalid_body_is_a_422_problem(app, body):
    assert_problem(call(app.port, "/api/mongodb/notes", "POST", body), 422)


def test_an_unexpected_error_is_a_500_problem_without_its_cause(app):
    """The visits table gone (renamed away behind the app's back): PostgreSQL answers, so it is not
    the service being down but a bug: 500, not 503. The cause goes to the log, never to the client."""
    pg = app.servers["postgres"]
    before = call(app.port, "/api/postgres/visits", "POST", {}).json()["visits"]
    pg.sql("ALTER TABLE visits RENAME TO visits_away")
    try:
        assert_problem(call(app.port, "/api/postgres/visits", "POST", {}), 500)
        assert call(app.port, "/readyz").status == 200, "PostgreSQL itself still answers"
    finally:
        pg.sql("ALTER TABLE visits_away RENAME TO visits")
    assert call(app.port, "/api/postgres/visits", "POST", {}).json() == {"visits": before + 1}

    def causes(lines: list[dict]) -> list[dict]:
        return [line for line in lines if line["log.level"] == "error" and "visits" in json.dumps(line)]

    assert causes(app.logs(until=causes)), "the cause is logged at error"


def _families(port: int) -> dict:
    answer = call(port, "/metrics")
    assert answer.status == 200 and answer.content_type in ("text/plain", "application/openmetrics-text")
    return {family.name: family for family in text_string_to_metric_families(answer.body)}


def test_metrics_count_every_request_by_route_template_and_status(app):
    call(app.port, "/no/such/route")
    call(app.port, "/api/postgres/visits", "POST", {})
    families = _families(app.port)
    requests = families["http_requests"]  # the parser drops the counter's _total suffix
    assert requests.type == "counter"
    samples = [s for s in requests.samples if s.name == "http_requests_total"]
    assert {frozenset(s.labels) for s in samples} == {frozenset({"method", "route", "status"})}
    counted = {(s.labels["method"], s.labels["route"], s.labels["status"]) for s in samples}
    assert ("POST", "/api/postgres/visits", "200") in counted, counted
    assert ("GET", "unmatched", "404") in counted, "an unmatched path is counted, never as its raw path"
    assert ("GET", "/healthz", "200") in counted
    assert not any("/no/such" in route for _, route, _ in counted)
    if any(status == "500" for *_, status in counted):
        assert ("POST", "/api/postgres/visits", "500") in counted
    duration = families["http_request_duration_seconds"]
    assert duration.type == "histogram"
    buckets = [s for s in duration.samples if s.name.endswith("_bucket")]
    assert {frozenset(s.labels) - {"le"} for s in buckets} == {frozenset({"method", "route"})}
    up = {s.labels["service"]: s.value for s in families["app_dependency_up"].samples}
    assert up == dict.fromkeys(SERVICES, 1.0)


def index_requests(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["message"] == "request" and line.get("url.path") == "/"]


def test_log_lines_are_ecs_json_with_one_access_line_per_request(app):
    for _ in range(3):
        call(app.port, "/", headers={"User-Agent": "contract"})
    call(app.port, "/healthz")
    lines = app.logs(until=lambda lines: len(index_requests(lines)) >= 3)
    assert lines, "the app logs to stdout"
    for line in lines:
        missing = {"@timestamp", "log.level", "message", "ecs.version", "service.name"} - set(line)
        assert not missing, (missing, line)
        assert line["log.level"] in LEVELS, line
        stamp = datetime.fromisoformat(line["@timestamp"].replace("Z", "+00:00"))
        assert stamp.utcoffset().total_seconds() == 0 and line["@timestamp"].endswith("Z"), line
    own = [line for line in lines if line.get("service.version") == "9.8.7"]
    assert own and all(line["service.name"] == "contract-svc" for line in own)
    requests = [line for line in lines if line["message"] == "request"]
    index = index_requests(lines)
    assert len(index) >= 3, "one access line per request"
    for line in index:
        assert line["log.level"] == "info"
        assert line["http.request.method"] == "GET" and line["http.response.status_code"] == 200
        assert isinstance(line["event.duration"], int) and line["event.duration"] > 0, line
    assert not [line for line in requests if line["url.path"] == "/healthz"], "probes log at debug"


def test_a_request_continues_the_callers_trace_and_logs_its_ids(app):
    traceparent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    assert call(app.port, "/api/redis/hits", "POST", {}, headers={"traceparent": traceparent}).status == 200

    def continued(lines: list[dict]) -> list[dict]:
        return [
            line for line in lines if line["message"] == "request" and line.get("trace.id") == CALLER_TRACE
        ]

    (line,) = continued(app.logs(until=continued))
    assert re.fullmatch(r"[0-9a-f]{16}", line["span.id"]) and line["span.id"] != CALLER_SPAN, line
    assert line["url.path"] == "/api/redis/hits"


def test_sigterm_drains_flushes_spans_and_exits_cleanly(app):
    """Last: stops the app. SIGTERM arrives while a request waits on a lock in PostgreSQL: the app
    keeps running until that request is answered (200), then exits 0 (the JVM: 143) within the
    grace period, with a final "stopped" line and the spans exported by then, the caller's trace
    among them, with the service's name. The lock is held well under the app's use timeout (the
    readiness timeout here, 1 s, in Node)."""
    with ThreadPoolExecutor(2) as pool, app.servers["postgres"].locked("visits") as waiting:
        in_flight = pool.submit(call, app.port, "/api/postgres/visits", "POST")
        deadline = time.monotonic() + 30
        while waiting() == 0:
            assert time.monotonic() < deadline and not in_flight.done(), "the request never reached the lock"
            time.sleep(0.05)
        stopping = pool.submit(app.stop)
        time.sleep(0.4)
        assert app.proc.poll() is None and not in_flight.done(), "SIGTERM must wait for in-flight requests"
    answer = in_flight.result(timeout=30)
    assert answer.status == 200 and "visits" in answer.json(), answer.body
    stopped = stopping.result(timeout=60)
    assert stopped["returncode"] in app.driver.clean_exit_codes(), stopped["err"][-3000:]
    assert stopped["seconds"] < 25, "SIGTERM must stop the app within its grace period"
    lines = parse_logs(stopped["out"])
    assert "stopped" in [line["message"] for line in lines]
    assert {path for path, _, _ in app.sink.requests} == {"/v1/traces"}
    exported = b"".join(body for _, _, body in app.sink.requests)
    assert CALLER_TRACE.encode() in exported or bytes.fromhex(CALLER_TRACE) in exported
    assert b"contract-svc" in exported and b"9.8.7" in exported, "service.name/version from the settings"


# --- outside the running app ---------------------------------------------------------------------------


@pytest.mark.parametrize("variant", [p.values[0] for p in _params()], ids=implemented("runtime"))
def test_a_missing_setting_exits_2_with_one_log_line_naming_it(render, built, variant):
    project, driver, env = built_app(render, built, variant)
    proc = subprocess.run(
        driver.server(project), cwd=project / "app", env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    error = parse_logs(proc.stdout)[-1]
    assert error["message"] == "invalid configuration" and error["log.level"] == "error", error
    for name in SERVICES:
        assert CATALOG.DATA_SERVICES[name]["env"] in error["error.message"], error


MULTIPROCESS = [p.values[0] for p in _params() if CATALOG.RUNTIMES[p.values[0].runtime].get("workers_env")]


def server_processes(pid: int) -> list[int]:
    """The children of `pid` but Python multiprocessing's resource tracker (a helper, not a server)."""
    found = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    return [
        child for child in found if b"resource_tracker" not in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


@pytest.mark.parametrize("variant", MULTIPROCESS, ids=[variant.runtime for variant in MULTIPROCESS])
def test_workers_share_the_port_sum_their_metrics_and_stop_on_sigterm(render, built, variant):
    """With the workers variable at 2 (what a 2-core CPU limit sets): two server processes answer
    on the one port, /metrics counts the requests of both whichever of them serves it, and SIGTERM
    stops them all with a clean exit."""
    project, driver, base = built_app(render, built, variant)
    workers_env = CATALOG.RUNTIMES[variant.runtime]["workers_env"]
    port = free_port()
    unreachable = {"postgres": "postgres://app:app@127.0.0.1:1/app", "redis": "redis://127.0.0.1:1/0"}
    unreachable["mongodb"] = "mongodb://127.0.0.1:1/app"
    env = {**base, "PORT": str(port), workers_env: "2"}
    env.update({CATALOG.DATA_SERVICES[name]["env"]: url for name, url in unreachable.items()})
    proc, workers = driver.start(project, env), []
    try:
        wait_for_port(port, timeout=90)
        deadline = time.monotonic() + 30
        while len(server_processes(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = server_processes(proc.pid)
        assert len(workers) == 2, f"server processes under {proc.pid}: {workers}"
        for _ in range(40):
            assert call(port, "/healthz").status == 200
        for _ in range(6):  # each scrape is served by either worker: all must see both's counts
            families = text_string_to_metric_families(call(port, "/metrics").body)
            counted = sum(
                sample.value
                for family in families
                for sample in family.samples
                if sample.name == "http_requests_total" and sample.labels["route"] == "/healthz"
            )
            assert counted == 40, f"/healthz requests counted on /metrics: {counted}"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode in driver.clean_exit_codes(), err[-3000:]
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers), "a worker outlived SIGTERM"
    assert [line["message"] for line in parse_logs(out)].count("stopped") == 2, out[-3000:]


@pytest.mark.parametrize("variant", [p.values[0] for p in _params()], ids=implemented("runtime"))
def test_the_migration_step_is_idempotent_and_needs_only_the_database_url(render, built, variant):
    project, driver, base = built_app(render, built, variant)
    pg = Postgres().start()
    try:
        for _ in range(2):
            step = driver.migrate(project, base, pg.url)
            assert step.returncode == 0, step.stdout + step.stderr
            assert parse_logs(step.stdout)[-1]["message"] == "migrated", step.stdout
        assert pg.sql("SELECT count(*) FROM visits").strip() == "0"
    finally:
        pg.remove()
    refused = driver.migrate(project, base, "postgres://app:app@127.0.0.1:1/app?sslmode=disable")
    assert refused.returncode not in (0, 2), "an unreachable database fails the step (not a config error)"
