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

from matrix import Variant, implemented, load_extension, supported_services
from runtimes import Driver
from servers import POOL_SIZE, SERVERS, Connections, Postgres, Redis, free_port, wait_for_port

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


CATALOG = load_extension().catalog
# Every data service that has a real server here.
INSTALLABLE = tuple(key for key in CATALOG.DATA_SERVICES if key in SERVERS)
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


def app_client(port: int):
    """call(method, path, body) -> (status, JSON body) of the app on port (servers.py's uses)."""

    def call(method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        if method == "GET":
            status, text = get(port, path)
            return status, json.loads(text) if status else {}
        return post(port, path, body)

    return call


def try_use(call, key: str) -> tuple[int, dict]:
    """A data service's first request, as the generated README shows it (its catalog row's `try`)."""
    request = CATALOG.DATA_SERVICES[key]["try"]
    return call(request["method"], request["path"], request.get("body"))


@pytest.fixture(
    scope="module",
    params=[pytest.param(v, id=v.runtime, marks=pytest.mark.xdist_group(f"e2e-{v.runtime}")) for v in REAL],
)
def app(request, render, built):
    """One runtime's app with every data service, migrated (with DATABASE_URL alone, twice: it is
    idempotent) and running against real servers, shared by the tests below in their order: each
    service's first use, its outage and return, the pools' reuse, the clean stop."""
    variant = request.param
    servers = {key: SERVERS[key]().start() for key in INSTALLABLE}
    driver = Driver(variant.runtime)
    project = built(render(variant), variant.runtime)
    base = {key: value for key, value in driver.base_env().items() if not key.endswith("_SERVERS")}
    proc = None
    try:
        migrate_twice(driver, project, base, servers["postgres"].url)
        port = free_port()
        env = {
            **base,
            "PORT": str(port),
            "READY_TIMEOUT_SECONDS": "1",
            "SERVICE_NAME": "e2e",
            **{CATALOG.DATA_SERVICES[key]["env"]: server.url for key, server in servers.items()},
        }
        proc = driver.start(project, env)
        wait_for_port(port, timeout=60)
        yield {"variant": variant, "driver": driver, "port": port, "call": app_client(port),
               "servers": servers, "proc": proc, "used": set()}  # fmt: skip
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
        for server in servers.values():
            server.remove()


def test_ready_names_every_service(app):
    status, body = wait_ready(app["port"], 200, timeout=30)
    assert status == 200, body
    assert set(json.loads(body)["checks"]) == set(app["variant"].data_services)


def first_use(app, key: str) -> None:
    if key not in app["used"]:
        app["used"].add(key)
        app["servers"][key].first_uses(app["call"])


@pytest.mark.parametrize("key", INSTALLABLE)
def test_each_service_is_used_for_real(app, key):
    """Its catalog row's first request and the server class's own uses (tests/servers.py)."""
    first_use(app, key)


@pytest.mark.parametrize("key", INSTALLABLE)
def test_an_outage_gates_readiness_and_the_app_recovers(app, key):
    """Server stopped: /readyz is 503 naming it and its use 503 naming it; started again, the app
    recovers without a restart and what it stored or sent before is still there."""
    port, call, server = app["port"], app["call"], app["servers"][key]
    first_use(app, key)
    server.stop()
    try:
        status, body = wait_ready(port, 503)
        assert status == 503 and json.loads(body)["checks"][key] != "ok", (key, body)
        status, problem = try_use(call, key)
        assert status == 503 and problem.get("detail") == f"{key} is unavailable", (key, problem)
    finally:
        server.start()
    status, body = wait_ready(port, 200, timeout=60)
    assert status == 200, (key, body)
    server.after_return(call)


def test_pools_are_reused(app):
    """150 requests and probes open no more PostgreSQL or Redis connections than a pool holds (one
    per request without a pool), outages or not."""
    port, call = app["port"], app["call"]
    connections = Connections(app["servers"]["postgres"], app["servers"]["redis"])
    steady = [
        lambda: get(port, "/readyz"),
        *(lambda k=key: try_use(call, k) for key in ("postgres", "redis")),
    ]
    before = connections.snapshot()
    for _ in range(50):
        assert [request()[0] for request in steady] == [200, 200, 200]
    opened = connections.opened_since(before)
    assert max(opened) <= POOL_SIZE, f"(PostgreSQL, Redis) connections opened by 150 requests: {opened}"


def test_stops_cleanly_on_sigterm(app):
    proc = app["proc"]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode in app["driver"].clean_exit_codes(), err[-3000:]
