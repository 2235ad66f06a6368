"""Real data servers for the e2e tier, started on free loopback ports.

PostgreSQL, Redis, Memcached and RabbitMQ come from Debian's packages. MongoDB and Kafka are not packaged
for Debian: FerretDB (MongoDB's wire protocol on SQLite, built from the Go module proxy) stands in for
MongoDB, and Apache Kafka runs from its jars on Maven Central (tests/support/tools.py builds both).
"""

from __future__ import annotations

import base64
import contextlib
import glob
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import uuid
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


def eventually(fn, timeout: float = 15.0):
    """fn()'s first truthy value within timeout seconds, else its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


# Each server's class also knows its data service's key and what the running app does with it (the
# e2e tier): `first_uses(call)` and, once the server is back after an outage, `after_return(call)`;
# `call(method, path, body)` asks the app and answers (status, JSON body).


class Postgres:
    """A private cluster run with pg_ctl (which daemonizes: no process of ours to watch)."""

    key = "postgres"
    debian = ("postgresql",)  # scripts/test installs these, and stops the packaged server it starts
    packaged_service = "postgresql"

    def first_uses(self, call) -> None:
        assert call("POST", "/api/postgres/visits") == (200, {"visits": 1})
        assert call("POST", "/api/postgres/visits") == (200, {"visits": 2})

    def after_return(self, call) -> None:
        assert call("POST", "/api/postgres/visits") == (200, {"visits": 3}), "the table survives a restart"

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

    def sql(self, statement: str) -> str:
        """Runs one SQL statement in the app's database as the app's user; its output, unaligned."""
        return subprocess.run(
            [*self._psql(), "-c", statement],
            env={**os.environ, "PGPASSWORD": "app"},
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def _psql(self) -> list[str]:
        return _as_postgres(
            [_pg_bin("psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "app", "-d", "app"]
            + ["-v", "ON_ERROR_STOP=1", "-q", "-At"]
        )

    @contextlib.contextmanager
    def locked(self, table: str):
        """An ACCESS EXCLUSIVE lock on `table`, held in an open transaction for the block: every
        query on the table waits until the block ends. Yields waiting(): how many queries wait for
        a lock now, asked through the holding session (no new connection, so it answers at once)."""
        holder = subprocess.Popen(
            self._psql(),
            env={**os.environ, "PGPASSWORD": "app"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

        def ask(statement: str) -> str:
            holder.stdin.write(statement + "\n")
            holder.stdin.flush()
            return holder.stdout.readline().strip()

        try:
            holder.stdin.write(f"BEGIN;\nLOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;\n")
            assert ask("SELECT 'locked';") == "locked", holder.stderr.read()
            yield lambda: int(ask("SELECT count(*) FROM pg_locks WHERE NOT granted;"))
        finally:
            if holder.poll() is None:
                holder.stdin.write("COMMIT;\n")
                holder.stdin.close()
            holder.wait(timeout=30)

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

    def _spawn(
        self,
        cmd: list[str],
        env: dict[str, str] | None = None,
        timeout: float = 20.0,
        log: Path | None = None,
    ) -> None:
        """Starts cmd and waits for its port; its output goes to log (appended) when given."""
        with open(log or os.devnull, "ab") as out:
            self.proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=out, start_new_session=True)
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
    key = "redis"
    debian = ("redis-server", "redis-tools")  # redis-cli counts the connections (Connections)
    packaged_service = "redis-server"

    def first_uses(self, call) -> None:
        assert call("POST", "/api/redis/hits") == (200, {"hits": 1})

    def after_return(self, call) -> None:
        assert call("POST", "/api/redis/hits")[0] == 200  # from 1 again: this server keeps no data

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


POOL_SIZE = 10
"""The most connections any generated app's PostgreSQL or Redis pool holds (some hold one): a
client that pools opens no more than that, one without a pool opens one per request."""


class Connections:
    """New server connections opened so far: PostgreSQL's log_connections lines and Redis's
    connection counter."""

    def __init__(self, postgres: Postgres, redis: Redis) -> None:
        self.postgres, self.redis = postgres, redis
        postgres.sql("ALTER SYSTEM SET log_connections = on")
        postgres.sql("SELECT pg_reload_conf()")
        self.log = postgres.dir.parent / "pg.log"
        self.asked = 0  # Redis questions so far: each opens one connection of its own
        before = self.snapshot()
        postgres.sql("SELECT 1")  # one new connection: the count must see it
        after = self.snapshot()
        assert after[0] - before[0] == 1, "PostgreSQL does not log connections: the count would be 0"
        assert after[1] - before[1] == 0, after

    def snapshot(self) -> tuple[int, int]:
        """(PostgreSQL connections so far, Redis connections so far), not counting these questions'."""
        pg = self.log.read_text(errors="replace").count("connection authorized")
        info = subprocess.run(
            ["redis-cli", "-p", str(self.redis.port), "INFO", "stats"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        self.asked += 1
        return pg, int(re.search(r"total_connections_received:(\d+)", info).group(1)) - self.asked

    def opened_since(self, before: tuple[int, int]) -> tuple[int, int]:
        """(PostgreSQL, Redis) connections opened since the snapshot `before`."""
        now = self.snapshot()
        return now[0] - before[0], now[1] - before[1]


class Memcached(Server):
    key = "memcached"
    debian = ("memcached",)
    packaged_service = "memcached"

    def first_uses(self, call) -> None:
        status, first = call("GET", "/api/memcached/greeting")
        second = call("GET", "/api/memcached/greeting")[1]
        assert status == 200 and first["cached"] is False and second == {**first, "cached": True}

    def after_return(self, call) -> None:
        assert call("GET", "/api/memcached/greeting")[0] == 200

    def __init__(self) -> None:
        super().__init__()
        self.url = f"127.0.0.1:{self.port}"

    def start(self) -> Memcached:
        binary = shutil.which("memcached") or "/usr/bin/memcached"
        assert Path(binary).exists(), "memcached missing: scripts/test installs Debian's memcached"
        user = ["-u", "memcache"] if os.geteuid() == 0 else []
        self._spawn([binary, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", *user])
        return self


class EventBroker:
    """What the app does with a message broker: events published, then consumed in the background."""

    key: str

    def first_uses(self, call) -> None:
        path = f"/api/{self.key}/events"
        assert call("POST", path, {})[0] == 422, "an event needs a message"
        assert call("POST", path, {"message": "hello"})[0] == 202, self.key
        consumed = eventually(lambda: call("GET", path)[1]["consumed"] >= 1, timeout=60)
        assert consumed, f"the {self.key} consumer must receive the published event"
        assert call("GET", path) == (200, {"consumed": 1, "last": "hello"})

    def after_return(self, call) -> None:
        """The consumer reconnected: events flow again."""
        path = f"/api/{self.key}/events"
        published = eventually(lambda: call("POST", path, {"message": "again"})[0] == 202, timeout=60)
        assert published, f"publishing to {self.key} must recover"
        assert eventually(lambda: call("GET", path)[1]["last"] == "again", timeout=60), self.key


class RabbitMQ(EventBroker, Server):
    """A private RabbitMQ node (own ports, node name and data dir), run as the rabbitmq user when root."""

    key = "rabbitmq"
    debian = ("rabbitmq-server",)
    packaged_service = "rabbitmq-server"

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


class FerretDB(Server):
    """MongoDB's wire protocol: a private FerretDB 1.x on its SQLite backend (no auth, no telemetry)."""

    key = "mongodb"

    @staticmethod
    def install() -> Path:
        """Built once from the Go module proxy (not packaged for Debian)."""
        from support.tools import ferretdb

        return ferretdb()

    def first_uses(self, call) -> None:
        assert call("POST", "/api/mongodb/notes", {"text": "first"}) == (200, {"notes": 1})
        assert call("POST", "/api/mongodb/notes", {})[0] == 422, "a note needs text"

    def after_return(self, call) -> None:
        assert call("POST", "/api/mongodb/notes", {"text": "again"}) == (200, {"notes": 2})

    def __init__(self) -> None:
        super().__init__()
        self.url = f"mongodb://127.0.0.1:{self.port}/app"
        self.base = Path(tempfile.mkdtemp(prefix="cn-template-ferretdb-"))

    def start(self) -> FerretDB:
        from support.tools import ferretdb

        data = self.base / "data"  # one SQLite file per database
        data.mkdir(exist_ok=True)
        cmd = [
            str(ferretdb()),
            f"--listen-addr=127.0.0.1:{self.port}",
            "--handler=sqlite",
            f"--sqlite-url=file:{data}/",
            f"--state-dir={self.base}",  # its state.json (instance id); the default is the cwd
            "--debug-addr=-",  # no metrics and pprof listener (its default port would clash)
            "--telemetry=disable",
            "--log-level=warn",
        ]
        self._spawn(cmd, log=self.base / "ferretdb.log")
        return self


class Kafka(EventBroker, Server):
    """A private single-node Apache Kafka in KRaft mode (broker and controller in one JVM).

    Its storage is formatted on the first start only: start() after stop() resumes with the same
    topics, offsets and ports. `url` is a KAFKA_BROKERS value (host:port, PLAINTEXT).
    The first broker run on a machine also records the classes it loads in a class-data sharing
    archive, next to the jars; later runs map it and start in about half the time (~2 s instead of ~4 s).
    """

    key = "kafka"
    debian = ("openjdk-17-jre-headless",)

    @staticmethod
    def install() -> Path:
        """The broker's jars, resolved once from Maven Central (not packaged for Debian)."""
        from support.tools import kafka_libs

        return kafka_libs()

    def __init__(self) -> None:
        super().__init__()
        self.controller_port = free_port()
        self.url = f"127.0.0.1:{self.port}"
        self.base = Path(tempfile.mkdtemp(prefix="cn-template-kafka-"))
        self._archiving: tuple[Path, Path] | None = None  # (archive being dumped, where it goes)

    def start(self) -> Kafka:
        from support.tools import kafka_libs

        java = shutil.which("java")
        assert java, "java missing: Kafka 4.x brokers need Java 17 or later"
        libs = kafka_libs()
        jvm = [
            java,
            "-Xms64m",
            "-Xmx256m",
            "-XX:+UseSerialGC",  # one small heap: no G1 threads, a quicker start
            "-XX:TieredStopAtLevel=1",  # C1 only: starts faster, plenty for a test's traffic
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self._log_config()}",
            "-cp",
            f"{libs}/*",
        ]
        props = self.base / "server.properties"
        if not props.exists():
            props.write_text(self._properties())
            subprocess.run(
                [*jvm, "kafka.tools.StorageTool", "format", "--config", str(props)]
                + ["--cluster-id", _kafka_cluster_id(), "--standalone"],
                check=True,
                capture_output=True,
            )
        # The archive is only valid for this JDK build and these jars (the JVM checks, and runs without
        # it when they differ): name it after the JDK, and dump it at the exit of a run without one.
        archive = libs.parent / f"classes-{_jdk_id(java)}.jsa"
        if archive.exists():
            cds = [f"-XX:SharedArchiveFile={archive}"]
        else:
            self._archiving = (self.base / "classes.jsa", archive)
            cds = [f"-XX:ArchiveClassesAtExit={self._archiving[0]}"]
        self._spawn([*jvm, *cds, "kafka.Kafka", str(props)], timeout=60, log=self.base / "stdout.log")
        _wait_for_kafka(self.port, timeout=60)
        return self

    def stop(self) -> None:
        super().stop()
        archiving, self._archiving = self._archiving, None
        # A JVM that exits on SIGTERM reports 143 and has written its archive whole: publish it
        # (a rename, atomic, so parallel workers never map a partial one).
        if archiving and self.proc and self.proc.returncode == 143 and archiving[0].exists():
            archiving[0].replace(archiving[1])

    def _properties(self) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "log.dirs": str(self.base / "data"),
            "auto.create.topics.enable": "true",
            "num.partitions": "1",
            "default.replication.factor": "1",
            # One node: every internal topic has one replica (and one partition, created quicker).
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",  # a consumer group's first member joins at once
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _log_config(self) -> Path:
        """log4j2: warnings to server.log, plus the server's own "Kafka Server started" line."""
        config = self.base / "log4j2.properties"
        config.write_text(
            "status = error\n"
            "appender.file.type = File\n"
            "appender.file.name = file\n"
            f"appender.file.fileName = {self.base / 'server.log'}\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = WARN\n"
            "rootLogger.appenderRef.file.ref = file\n"
            "logger.server.name = kafka.server.KafkaRaftServer\n"
            "logger.server.level = INFO\n"
        )
        return config


# A real server for each data service in the catalog, by its key (FerretDB speaks MongoDB's wire
# protocol): a new data service adds its class above and its place here.
SERVERS: dict[str, type] = {cls.key: cls for cls in (Postgres, FerretDB, Redis, Memcached, Kafka, RabbitMQ)}


def main(what: str) -> None:
    """What scripts/test needs from the servers, one per line: `debian` (packages to install),
    `packaged` (the system services those packages start, to stop) and `install` (build or fetch
    the others)."""
    if what == "debian":
        print("\n".join(package for cls in SERVERS.values() for package in getattr(cls, "debian", ())))
    elif what == "packaged":
        print("\n".join(cls.packaged_service for cls in SERVERS.values() if hasattr(cls, "packaged_service")))
    elif what == "install":
        for key, cls in SERVERS.items():
            if hasattr(cls, "install"):
                print(f"{key}: {cls.install()}")
    else:
        raise SystemExit(f"usage: servers.py debian|packaged|install, not {what!r}")


if __name__ == "__main__":
    import sys

    main(*sys.argv[1:])


def _jdk_id(java: str) -> str:
    """Tells JDK builds apart: the java binary's real path and mtime (a package upgrade replaces it)."""
    real = Path(java).resolve()
    return hashlib.sha256(f"{real}:{real.stat().st_mtime_ns}".encode()).hexdigest()[:12]


def _kafka_cluster_id() -> str:
    """A random cluster id as Kafka writes one (`kafka-storage random-uuid`): URL-safe base64 of a
    UUID, unpadded, never starting with a dash (it would read as an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _wait_for_kafka(port: int, timeout: float) -> None:
    """Waits until the broker lists itself in a Metadata response: started and unfenced (an open port
    alone does not tell), so clients can produce at once."""
    client_id = b"cn-template"
    # Metadata v4 (the first with allow_auto_topic_creation), request header v1: all topics, none created.
    request = struct.pack(">hhih", 3, 4, 1, len(client_id)) + client_id + struct.pack(">ib", -1, 0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(struct.pack(">i", len(request)) + request)
            head = _recv_exactly(sock, 4 + 12)  # size; correlation id, throttle time, broker count
            if struct.unpack(">iiii", head)[3] > 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"Kafka on 127.0.0.1:{port} lists no live broker after {timeout}s")


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data
