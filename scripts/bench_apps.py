#!/usr/bin/env python3
"""Benchmark each runtime's generated app against a bare app of its framework, side by side.

    .venv/bin/python scripts/bench_apps.py [--runtimes python node] [--rounds 3] [--seconds 15]
                                          [--connections 32]

Per runtime: the app rendered from this working tree with PostgreSQL and Redis (observability on,
no collector configured: no span is exported), built by its own `make install`, and a bare app on the
same framework and versions (FastAPI on uvicorn, Fastify, Go's net/http, Spring Boot MVC) answering
/healthz with the same JSON. Both run on this machine against real PostgreSQL and Redis on loopback
(Debian's packages, tests/servers.py), the app pinned to one core and wrk to another. wrk (Debian's)
drives one endpoint at a time: one thread, --connections connections, --seconds after a 3 s warm-up;
the runs of a round interleave every runtime and app, and the tables show medians over --rounds of:

- requests/s, p50 and p99 latency, errors (socket errors and non-2xx answers);
- CPU per request (user + system of the app's process tree) and its peak RSS;
- bytes the app logged per request;
- new server connections during the run: PostgreSQL's `log_connections` lines and Redis's
  `total_connections_received` (a pool created once opens none in a steady run);
- the generated app's start to ready: from the process's start to its first /readyz 200;
- readiness under load: /readyz asked every 0.5 s (timeout: the orchestrators' readiness probe's)
  while wrk drives each data endpoint with --load-connections connections; probes that were not a
  200 in time.

Targets (issue 16): generated /healthz >= 0.8x bare; p50 on /healthz < 5 ms at 32 connections; no
new connections during a steady run beyond the pool's size; start to ready < 1 s (Java: < 3 s);
every probe a 200 at 128 connections. Needs wrk (`apt-get install wrk`);
results go to .benchmarks/apps.json with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "scripts"))
from bench_images import render  # noqa: E402

from matrix import copy_working_tree, load_extension  # noqa: E402
from runtimes import Captured, Driver, resolved  # noqa: E402
from servers import Connections, Postgres, Redis, free_port, wait_for_port  # noqa: E402

CATALOG = load_extension().catalog
SERVICES = ("postgres", "redis")
# The app under test gets one core and wrk the other (with two or more): the CPU limit every
# orchestrator gives the app is one core or less, and without pinning the scheduler's placement of
# the two processes moved a run's result by up to 30 % between otherwise identical processes.
SERVER_CPU, CLIENT_CPU = (["taskset", "-c", "0"], ["taskset", "-c", "1"]) if os.cpu_count() >= 2 else ([], [])

TARGETS = {"healthz_ratio": 0.8, "healthz_p50_ms": 5.0}  # start to ready: each row's bench.ready_seconds
BENCH = ROOT / "scripts" / "bench"


def build_generated(runtime: str, src: Path, base: Path) -> Path:
    answers = {"runtime": runtime, "data_services": list(SERVICES)}
    project = render(src, base / f"{runtime}-generated", answers).parent  # render() returns its app/
    driver = Driver(runtime)
    proc = subprocess.run(["make", "install"], cwd=project, env=driver.env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{runtime}: make install failed\n{proc.stdout}{proc.stderr}")
    return project


def build_bare(runtime: str, generated: Path, base: Path) -> tuple[list[str], Path]:
    """(command, working directory) of the bare app, on the generated app's framework versions: the
    files of scripts/bench/<runtime>/bare (a `.in` file with the row's `@name@` values filled in),
    the generated app's folders the row's `link` names, built and run as its `bare` says."""
    row = CATALOG.RUNTIMES[runtime]
    spec = row["bench"]["bare"]
    app = generated / "app"
    bare = base / f"{runtime}-bare"
    shutil.copytree(BENCH / runtime / "bare", bare)
    for template in bare.rglob("*.in"):
        text = template.read_text()
        for key, value in row.items():
            if isinstance(value, str):
                text = text.replace(f"@{key}@", value)
        template.with_suffix("").write_text(text)
        template.unlink()
    for name in spec.get("link", []):
        (bare / name).symlink_to(app / name)
    env = Driver(runtime).env()
    if "build" in spec:
        subprocess.run(spec["build"], cwd=bare, env=env, check=True)
    return resolved([arg.replace("{app}", str(app)) for arg in spec["run"]], bare, env["PATH"]), bare


# --- measuring ---------------------------------------------------------------------------------------


def tree(pid: int) -> list[int]:
    """pid and its descendants (workers, a JVM's or npm's children)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            todo += [int(c) for c in children.read_text().split()]
    return found


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total / ticks


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M).group(1)) * 1024
        except (FileNotFoundError, AttributeError):
            pass
    return total


def wrk(url: str, seconds: int, connections: int, method: str = "GET", body: dict | None = None) -> dict:
    script = None
    args = [*CLIENT_CPU, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if method != "GET":
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
        payload = json.dumps(body or {})
        script.write(
            f'wrk.method = "{method}"\nwrk.body = {json.dumps(payload)}\n'
            'wrk.headers["Content-Type"] = "application/json"\n'
        )
        script.close()
        args += ["-s", script.name]
    try:
        out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    finally:
        if script:
            os.unlink(script.name)
    return parse_wrk(out)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(out: str) -> dict:
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1)),
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)),
        "errors": errors + (int(non2xx.group(1)) if non2xx else 0),
    }


def measure(proc: Captured, url: str, args, connections: Connections, method="GET", body=None) -> dict:
    pids = tree(proc.pid)
    wrk(url, 3, args.connections, method, body)  # warm-up
    log_before = len(proc.output_so_far().encode())
    cpu_before, conn_before = cpu_seconds(pids), connections.snapshot()
    peak = [rss_bytes(pids)]
    result = {}

    def run() -> None:
        result.update(wrk(url, args.seconds, args.connections, method, body))

    worker = threading.Thread(target=run)
    worker.start()
    while worker.is_alive():  # RSS sampled twice a second while wrk runs
        peak.append(rss_bytes(tree(proc.pid)))
        time.sleep(0.5)
    cpu = cpu_seconds(tree(proc.pid)) - cpu_before
    new_pg, new_redis = connections.opened_since(conn_before)
    logged = len(proc.output_so_far().encode()) - log_before
    requests = max(result["requests"], 1)
    result.update(
        {
            "cpu_us_per_request": round(cpu / requests * 1e6, 1),
            "peak_rss_mb": round(max(peak) / 1e6, 1),
            "log_bytes_per_request": round(logged / requests, 1),
            "new_pg_connections": new_pg,
            "new_redis_connections": new_redis,
        }
    )
    return result


def start_to_ready(command: list[str], cwd: Path, env: dict, port: int) -> tuple[Captured, float]:
    """Starts the app; returns it and the seconds from its start to its first /readyz 200."""
    started = time.monotonic()
    proc = Captured([*SERVER_CPU, *command], cwd=cwd, env=env)
    while time.monotonic() - started < 90:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{CATALOG.READY_PATH}", timeout=1):
                return proc, time.monotonic() - started
        except (OSError, urllib.error.HTTPError):
            if proc.poll() is not None:
                break
            time.sleep(0.01)
    proc.kill()
    out, err = proc.communicate()
    raise SystemExit(f"{command} was not ready on {port}:\n{out}{err}")


def probes_under_load(port: int, path: str, method: str, body, args) -> dict:
    """wrk at --load-connections on one endpoint while /readyz is asked as the orchestrators ask it."""
    timeout = CATALOG.PROBES["readiness"]["timeout"]
    statuses: list[str] = []
    result: dict = {}
    worker = threading.Thread(
        target=lambda: result.update(
            wrk(f"http://127.0.0.1:{port}{path}", args.seconds, args.load_connections, method, body)
        )
    )
    worker.start()
    time.sleep(1)  # wrk's connections open first
    url = f"http://127.0.0.1:{port}{CATALOG.READY_PATH}"
    while worker.is_alive():
        try:
            with urllib.request.urlopen(url, timeout=timeout) as answer:
                statuses.append(str(answer.status))
        except urllib.error.HTTPError as error:
            statuses.append(str(error.code))
        except OSError:
            statuses.append("timeout")
        time.sleep(0.5)
    worker.join()
    failed = [status for status in statuses if status != "200"]
    return {"probes": len(statuses), "probes_failed": len(failed), "rps": result["rps"], "failures": failed}


def start(command: list[str], cwd: Path, env: dict, port: int) -> Captured:
    proc = Captured([*SERVER_CPU, *command], cwd=cwd, env=env)
    try:
        wait_for_port(port, timeout=90)
    except TimeoutError:
        proc.kill()
        out, err = proc.communicate()
        raise SystemExit(f"{command} did not listen on {port}:\n{out}{err}") from None
    return proc


def stop(proc: Captured) -> None:
    proc.terminate()
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def memory_limit_mib(runtime: str) -> int:
    """The memory limit every orchestrator gives the runtime's container (the catalog's)."""
    quantity = CATALOG.RUNTIMES[runtime].get("resources", CATALOG.RESOURCES)["limits"]["memory"]
    return int(quantity.removesuffix("Mi"))


def runtime_env(runtime: str) -> dict[str, str]:
    """What the container gives the process and this machine does not (the row's bench.env, with
    {memory_mib} the container's memory limit)."""
    env = CATALOG.RUNTIMES[runtime]["bench"].get("env", {})
    return {key: value.replace("{memory_mib}", str(memory_limit_mib(runtime))) for key, value in env.items()}


def endpoints() -> list[tuple[str, str, dict | None]]:
    """(path, method, body) for /healthz, /readyz and each service's real use."""
    found = [(CATALOG.HEALTH_PATH, "GET", None), (CATALOG.READY_PATH, "GET", None)]
    for key in SERVICES:
        request = CATALOG.DATA_SERVICES[key]["try"]
        found.append((request["path"], request["method"], request.get("body")))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", nargs="*", help="default: every available runtime")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--load-connections", type=int, default=128)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")
    runtimes = args.runtimes or [name for name, rt in CATALOG.RUNTIMES.items() if rt.get("available")]

    postgres, redis = Postgres().start(), Redis().start()
    connections = Connections(postgres, redis)
    samples: dict[tuple[str, str, str], list[dict]] = {}
    starts: dict[str, list[float]] = {}
    under_load: dict[tuple[str, str], list[dict]] = {}
    load = []
    try:
        with tempfile.TemporaryDirectory(prefix="cn-bench-apps-") as tmp:
            base = Path(tmp)
            src = copy_working_tree(base / "template")
            apps, databases = {}, {}
            for runtime in runtimes:
                print(f"building {runtime} ...", flush=True)
                generated = build_generated(runtime, src, base)
                apps[runtime] = {"generated": generated, "bare": build_bare(runtime, generated, base)}
                driver = Driver(runtime)
                # A database per runtime: each migration tool keeps its own history.
                postgres.sql(f"CREATE DATABASE {runtime}")
                databases[runtime] = postgres.url.replace("/app?", f"/{runtime}?")
                migrated = driver.migrate(generated, driver.base_env(), databases[runtime])
                if migrated.returncode != 0:
                    raise SystemExit(f"{runtime}: migration failed\n{migrated.stdout}{migrated.stderr}")
            for round_ in range(1, args.rounds + 1):
                for runtime in runtimes:
                    driver = Driver(runtime)
                    for which in ("bare", "generated"):
                        port = free_port()
                        env = {
                            **driver.base_env(),
                            **runtime_env(runtime),
                            "PORT": str(port),
                            "SERVER_PORT": str(port),  # the bare Spring Boot app's
                            "SERVICE_NAME": "bench",
                        }
                        if which == "generated":
                            env.update({"DATABASE_URL": databases[runtime], "REDIS_URL": redis.url})
                            project = apps[runtime]["generated"]
                            command = driver.server(project)  # Go: builds first, not timed
                            proc, seconds = start_to_ready(command, project / "app", env, port)
                            starts.setdefault(runtime, []).append(seconds)
                            chosen = endpoints()
                        else:
                            command, cwd = apps[runtime]["bare"]
                            proc = start(command, cwd, env, port)
                            chosen = endpoints()[:1]
                        try:
                            for path, method, body in chosen:
                                url = f"http://127.0.0.1:{port}{path}"
                                result = measure(proc, url, args, connections, method, body)
                                samples.setdefault((runtime, which, f"{method} {path}"), []).append(result)
                                print(
                                    f"round {round_} {runtime:<6} {which:<9} {method} {path}: "
                                    f"{result['rps']:.0f} req/s, p50 {result['p50_ms']:.2f} ms, "
                                    f"errors {result['errors']}",
                                    flush=True,
                                )
                            if which == "generated":
                                for path, method, body in endpoints()[2:]:
                                    loaded = probes_under_load(port, path, method, body, args)
                                    key = (runtime, f"{method} {path}")
                                    under_load.setdefault(key, []).append(loaded)
                                    print(
                                        f"round {round_} {runtime:<6} /readyz while {method} {path} at "
                                        f"{args.load_connections} connections: {loaded['probes_failed']} "
                                        f"of {loaded['probes']} probes failed {loaded['failures']}",
                                        flush=True,
                                    )
                        finally:
                            stop(proc)
                load.append(os.getloadavg()[0])
    finally:
        postgres.remove()
        redis.remove()

    results = {
        f"{runtime} {which} {endpoint}": {
            key: statistics.median(run[key] for run in runs) for key in runs[0] if key != "requests"
        }
        for (runtime, which, endpoint), runs in samples.items()
    }
    health = f"GET {CATALOG.HEALTH_PATH}"
    # Each round's ratio, taken within the round: the machine's load moves between rounds.
    ratios = {
        runtime: [
            generated["rps"] / bare["rps"]
            for bare, generated in zip(
                samples[(runtime, "bare", health)], samples[(runtime, "generated", health)], strict=True
            )
        ]
        for runtime in runtimes
    }
    report(results, ratios, runtimes, load, args)
    report_readiness(starts, under_load, runtimes, args)
    out = ROOT / ".benchmarks" / "apps.json"
    out.parent.mkdir(exist_ok=True)
    readiness = {f"{runtime} {endpoint}": runs for (runtime, endpoint), runs in under_load.items()}
    out.write_text(
        json.dumps(
            {
                "load_average": load,
                "args": vars(args),
                "results": results,
                "ratios": ratios,
                "start_to_ready_seconds": starts,
                "readiness_under_load": readiness,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


def report(results: dict, ratios: dict, runtimes: list[str], load: list[float], args) -> None:
    health = f"GET {CATALOG.HEALTH_PATH}"
    print(
        f"\n{args.connections} connections, {args.seconds} s per run, medians of {args.rounds} rounds; "
        f"load average after each round: {', '.join(f'{x:.1f}' for x in load)}"
    )
    print(
        "| runtime | endpoint | req/s | p50 ms | p99 ms | errors | CPU µs/req | RSS MB | log B/req "
        "| new PG / Redis conns |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for runtime in runtimes:
        for name, row in results.items():
            if not name.startswith(f"{runtime} "):
                continue
            _, which, endpoint = name.split(" ", 2)
            print(
                f"| {runtime} {which} | {endpoint} | {row['rps']:.0f} | {row['p50_ms']:.2f} "
                f"| {row['p99_ms']:.2f} | {row['errors']:.0f} | {row['cpu_us_per_request']:.0f} "
                f"| {row['peak_rss_mb']:.0f} "
                f"| {row['log_bytes_per_request']:.0f} | {row['new_pg_connections']:.0f} / "
                f"{row['new_redis_connections']:.0f} |"
            )
    print()
    for runtime in runtimes:
        generated = results[f"{runtime} generated {health}"]
        ratio = statistics.median(ratios[runtime])
        peak = max(
            row["peak_rss_mb"] for name, row in results.items() if name.startswith(f"{runtime} generated")
        )
        limit = memory_limit_mib(runtime) * 1.048576  # MiB -> MB
        rounds = ", ".join(f"{r:.2f}" for r in ratios[runtime])
        print(
            f"{runtime}: /healthz generated / bare = {ratio:.2f}x, median of the rounds' ({rounds}) "
            f"(target >= {TARGETS['healthz_ratio']}x: {verdict(ratio >= TARGETS['healthz_ratio'])}); "
            f"p50 {generated['p50_ms']:.2f} ms (target < {TARGETS['healthz_p50_ms']} ms: "
            f"{verdict(generated['p50_ms'] < TARGETS['healthz_p50_ms'])}); peak RSS {peak:.0f} MB against "
            f"the {limit:.0f} MB limit ({verdict(peak < limit)})"
        )


def report_readiness(starts: dict, under_load: dict, runtimes: list[str], args) -> None:
    print()
    for runtime in runtimes:
        start = statistics.median(starts[runtime])
        target = CATALOG.RUNTIMES[runtime]["bench"]["ready_seconds"]
        probes = [run for (name, _), runs in under_load.items() if name == runtime for run in runs]
        failed = sum(run["probes_failed"] for run in probes)
        asked = sum(run["probes"] for run in probes)
        print(
            f"{runtime}: start to ready {start:.2f} s, median of {len(starts[runtime])} "
            f"(target < {target} s: {verdict(start < target)}); /readyz under "
            f"{args.load_connections} connections on the data endpoints: {failed} of {asked} probes "
            f"failed ({verdict(failed == 0)})"
        )


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
