"""Per-runtime drivers for the lint, build and e2e tiers: how a generated app is installed, served
and checked.

The commands themselves come from the catalog: the strings the generated Makefile runs
(`make install lint test run`). A driver adds only what the catalog cannot say. A runtime is built
and run by the build and e2e tiers once it has an entry in DRIVERS (Go and Java are rendered and
linted only so far: this machine has no Go module proxy, and Maven works offline only).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from matrix import load_extension


@dataclass(frozen=True)
class Driver:
    runtime: str
    tools: tuple[str, ...]
    """Executables the build and e2e tiers need on the machine."""
    tests_ran: str
    """Regex (multiline) in `make test` output when tests ran: a green run of zero tests proves nothing."""
    bin_dirs: tuple[str, ...] = ()
    """Directories under app/ holding the runtime's tools after `make install` (the image's PATH)."""

    @property
    def commands(self) -> dict[str, str]:
        return load_extension().catalog.RUNTIMES[self.runtime]["commands"]

    @property
    def serve(self) -> list[str]:
        """The catalog's run command as one argv, run in app/: SIGTERM reaches the app itself."""
        argv = shlex.split(self.commands["run"])
        assert not {"&&", "||", ";", "|"} & set(argv), f"{self.runtime}: run must be a single command"
        return argv

    @property
    def migrate(self) -> list[str]:
        """The image's migration step (compose `migrate` service, Kubernetes initContainer)."""
        return list(load_extension().catalog.RUNTIMES[self.runtime]["migrate_command"])

    def path(self, app: Path, base: str) -> str:
        """PATH for running the app's own commands the way its image does."""
        return ":".join([*(str(app / d) for d in self.bin_dirs), base])

    def tests_passed(self, output: str) -> bool:
        return re.search(self.tests_ran, output, re.M) is not None


DRIVERS = {
    "python": Driver("python", tools=("python3",), tests_ran=r"^\d+ passed\b", bin_dirs=(".venv/bin",)),
    "node": Driver("node", tools=("node", "npm"), tests_ran=r"^# pass [1-9]\d*$"),
}


def driver(runtime: str) -> Driver:
    assert runtime in DRIVERS, f"runtime {runtime!r} has no test driver: add one to tests/runtimes.py"
    return DRIVERS[runtime]


def healthcheck_argv(app: Path) -> list[str]:
    """The exec-form HEALTHCHECK CMD of the app's Dockerfile, to run against the app outside the image."""
    lines = (app / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    health = next(line for line in lines if line.startswith("HEALTHCHECK "))
    assert " CMD [" in health, "HEALTHCHECK must use the exec form (no shell in the image)"
    return json.loads(health.split(" CMD ", 1)[1])
