"""E2E tier: the generated app's server against real data servers on loopback: PostgreSQL, Redis,
Memcached and RabbitMQ from Debian, MongoDB's wire protocol from FerretDB, and an Apache Kafka broker.
The contract tier (test_contract.py) checks the runtime contract point by point; this tier checks every
data service's real use and outage, and the developer's `make run`."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from matrix import Variant, implemented, supported_services
from runtimes import Driver
from servers import (
    POOL_SIZE,
    Connections,
    FerretDB,
    Kafka,
    Memcached,
    Postgres,
    RabbitMQ,
    Redis,
    free_port,
    wait_for_port,
)

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
        migrate = driver.migrate(project, env, database_url)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        assert json.loads(migrate.stdout.splitlines()[-1])["message"] == "migrated", migrate.stdout


@pytest.fixture
def servers():
    pg, redis = Postgres().start(), Redis().start()
    yield pg, redis
    redis.stop()
    pg.remove()


# The generated README's local walk-through, for every runtime.
WALKTHROUGH = [Variant(rt, "kubernetes", "none", ("postgres", "redis")) for rt in implemented("runtime")]


def day_one(readme: str) -> tuple[list[str], list[str]]:
    """The two shell blocks of the README's "Day one": the make commands, then the curl commands."""
    section = readme.split("## Day one", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 2, section
    makes, curls = ([line.split("#")[0].strip() for line in block.splitlines()] for block in blocks)
    return [m for m in makes if m], curls


@pytest.mark.parametrize("variant", WALKTHROUGH, ids=[v.runtime for v in WALKTHROUGH])
def test_readme_day_one_works_as_written(render, built, servers, variant):
    """`make install`, `make migrate`, `make run`, then the README's curl commands, each answered
    with success. `make services` starts the data services in compose; here real servers on loopback
    stand in, as the .env a developer edits points at them (and at a free port)."""
    pg, redis = servers
    project = render(variant)
    makes, curls = day_one((project / "README.md").read_text())
    assert makes == ["make install", "make services", "make migrate", "make run"], makes
    project = built(project, variant.runtime)  # a copy, after `make install`
    env = Driver(variant.runtime).env()
    port = free_port()
    (project / ".env").write_text(f"PORT={port}\nDATABASE_URL={pg.url}\nREDIS_URL={redis.url}\n")
    try:
        migrate = subprocess.run(["make", "migrate"], cwd=project, env=env, capture_output=True, text=True)
        assert migrate.returncode == 0, migrate.stdout + migrate.stderr
        run = subprocess.Popen(
            ["make", "run"],
            cwd=project,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_for_port(port, timeout=90)
            assert wait_ready(port, 200)[0] == 200
            assert len(curls) == 3, curls
            for curl in curls:
                command = curl.replace(f"localhost:{variant_port(project)}", f"localhost:{port}")
                answer = subprocess.run(
                    f"{command} --fail-with-body --silent --show-error",
                    shell=True,  # noqa: S602 (the README's command, as a developer pastes it)
                    capture_output=True,
                    text=True,
                    timeout=30,
                )
                assert answer.returncode == 0, (curl, answer.stdout, answer.stderr)
                assert json.loads(answer.stdout), curl
        finally:
            os.killpg(run.pid, signal.SIGTERM)
            run.wait(timeout=30)
    finally:
        (project / ".env").unlink()


def variant_port(project) -> int:
    """The app port the project was rendered with (the README's curl commands use it)."""
    import yaml

    return yaml.safe_load((project / ".copier-answers.yml").read_text())["app_port"]


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
    started again, the app recovers without a restart, and its pools are reused again (150 requests
    and probes open no more PostgreSQL or Redis connections than a pool holds)."""
    project = built(render(variant), variant.runtime)
    driver = Driver(variant.runtime)
    base = {key: value for key, value in driver.base_env().items() if not key.endswith("_SERVERS")}
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

        # The pools came back with their servers and are reused: 150 requests and probes open no
        # more connections than a pool holds (one per request without a pool).
        connections = Connections(every_server["postgres"], every_server["redis"])
        steady = [lambda: get(port, "/readyz"), *(uses[name] for name in ("postgres", "redis"))]
        before = connections.snapshot()
        for _ in range(50):
            assert [call()[0] for call in steady] == [200, 200, 200]
        opened = connections.opened_since(before)
        assert max(opened) <= POOL_SIZE, f"(PostgreSQL, Redis) connections opened by 150 requests: {opened}"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode in driver.clean_exit_codes(), err[-3000:]
