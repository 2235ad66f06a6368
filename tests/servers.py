"""Real data servers for the e2e tier, from Debian's packages, started on free loopback ports."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    assert found, "PostgreSQL server binaries missing: scripts/test installs Debian's postgresql"
    return found[-1]


def _as_user(user: str, cmd: list[str]) -> list[str]:
    """cmd, run as the server's own system user when we are root (CI is; PostgreSQL refuses root)."""
    return ["runuser", "-u", user, "--", *cmd] if os.geteuid() == 0 else cmd


def _as_postgres(cmd: list[str]) -> list[str]:
    return _as_user("postgres", cmd)


def _private_dir(name: str, owner: str) -> Path:
    """A data dir outside pytest's private tmp dirs (the server's user must reach it), owned by it."""
    base = Path(tempfile.mkdtemp(prefix=f"cn-template-{name}-"))
    base.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(base, owner)
    return base


class Postgres:
    """A private cluster run with pg_ctl (which daemonizes: no process of ours to watch)."""

    def __init__(self) -> None:
        self.base = _private_dir("pg", owner="postgres")
        self.dir = self.base / "pgdata"
        self.port = free_port()
        self.url = f"postgres://app:app@127.0.0.1:{self.port}/app?sslmode=disable"

    def start(self) -> Postgres:
        if not self.dir.exists():
            pwfile = self.dir.parent / "pw"
            pwfile.write_text("app\n")
            if os.geteuid() == 0:
                shutil.chown(pwfile, "postgres")
            subprocess.run(
                _as_postgres(
                    [
                        _pg_bin("initdb"),
                        "-D",
                        str(self.dir),
                        "-U",
                        "app",
                        "--auth=scram-sha-256",
                        f"--pwfile={pwfile}",
                        "-E",
                        "UTF8",
                    ]
                ),
                check=True,
                capture_output=True,
            )
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("pg_ctl"),
                    "-D",
                    str(self.dir),
                    "-w",
                    "-l",
                    str(self.dir.parent / "pg.log"),
                    "-o",
                    f"-p {self.port} -k {self.dir.parent} -h 127.0.0.1",
                    "start",
                ]
            ),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            _as_postgres(
                [
                    _pg_bin("psql"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "app",
                    "-d",
                    "postgres",
                    "-c",
                    "SELECT 1",
                ]
            ),
            env={**os.environ, "PGPASSWORD": "app"},
            check=True,
            capture_output=True,
        )
        if not getattr(self, "_created", False):
            subprocess.run(
                _as_postgres(
                    [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "app", "app"]
                ),
                env={**os.environ, "PGPASSWORD": "app"},
                capture_output=True,
            )
            self._created = True
        return self

    def stop(self) -> None:
        subprocess.run(
            _as_postgres([_pg_bin("pg_ctl"), "-D", str(self.dir), "-m", "fast", "-w", "stop"]),
            check=False,
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class Server:
    """One server process of ours on a free loopback port, in its own process group."""

    port: int
    base: Path | None = None  # a private data dir, removed by remove()

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def _spawn(self, cmd: list[str], env: dict[str, str] | None = None, timeout: float = 20.0) -> None:
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        wait_for_port(self.port, timeout=timeout)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # A child (RabbitMQ's Erlang VM) may outlive the wrapper by a moment: wait until the port is free.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.2)

    def remove(self) -> None:
        self.stop()
        if self.base:
            shutil.rmtree(self.base, ignore_errors=True)


class Redis(Server):
    def __init__(self) -> None:
        super().__init__()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        binary = shutil.which("redis-server")
        assert binary, "redis-server missing: scripts/test installs Debian's redis-server"
        self._spawn(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        )
        return self


class Memcached(Server):
    def __init__(self) -> None:
        super().__init__()
        self.url = f"127.0.0.1:{self.port}"

    def start(self) -> Memcached:
        binary = shutil.which("memcached") or "/usr/bin/memcached"
        assert Path(binary).exists(), "memcached missing: scripts/test installs Debian's memcached"
        user = ["-u", "memcache"] if os.geteuid() == 0 else []
        self._spawn([binary, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", *user])
        return self


class RabbitMQ(Server):
    """A private RabbitMQ node (own ports, node name and data dir), run as the rabbitmq user when root."""

    def __init__(self) -> None:
        super().__init__()
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self.base = _private_dir("rabbitmq", owner="rabbitmq")

    def start(self) -> RabbitMQ:
        server = "/usr/lib/rabbitmq/bin/rabbitmq-server"
        assert Path(server).exists(), "RabbitMQ missing: scripts/test installs Debian's rabbitmq-server"
        env = {
            **os.environ,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_NODENAME": f"cntest{self.port}@localhost",
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_PID_FILE": str(self.base / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "plugins"),
        }
        self._spawn(_as_user("rabbitmq", [server]), env=env, timeout=60)
        return self
