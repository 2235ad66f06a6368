"""Build tier: the generated app installs with its own `make install`, and its `make lint test` pass;
each runtime's lockfile is complete and is what its package manager would write."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from matrix import edge_variants
from runtimes import DRIVERS, driver

pytestmark = pytest.mark.build

VARIANTS = edge_variants()


def by_runtime(*runtimes: str):
    picked = [v for v in VARIANTS if v.runtime in runtimes]
    return pytest.mark.parametrize("variant", picked, ids=[v.id for v in picked])


def run(cmd: list[str], cwd, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@by_runtime(*DRIVERS)
def test_app_installs_and_its_lint_and_tests_pass(render, built, variant):
    project = render(variant)
    for tool in driver(variant.runtime).tools:
        assert shutil.which(tool), f"{tool} is missing: scripts/test installs what the tests use"
    built(project)
    proc = run(["make", "lint", "test"], cwd=project)
    output = proc.stdout + proc.stderr
    assert driver(variant.runtime).tests_passed(output), output


# --- python -----------------------------------------------------------------------------------------


@by_runtime("python")
def test_python_dependencies_are_consistent(render, built, variant):
    python = built(render(variant)) / ".venv" / "bin" / "python"
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout


@by_runtime("python")
def test_python_lock_is_complete(render, variant, tmp_path):
    """The image installs requirements.lock with --no-deps: the lock alone must satisfy every requirement."""
    project = render(variant)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "--quiet", "--no-deps", "-r", "requirements.lock"], cwd=project / "app")
    run([*pip, "check"], cwd=project / "app")
    run(
        [str(venv / "bin" / "python"), "-c", "import service.main, service.__main__"],
        cwd=project / "app",
    )


# --- node -------------------------------------------------------------------------------------------

# Explicit, so the result does not depend on the machine's npmrc (ours omits `resolved`).
NPM_LOCK_FLAGS = [
    "--package-lock-only",
    "--ignore-scripts",
    "--no-audit",
    "--no-fund",
    "--omit-lockfile-registry-resolved=false",
]


@by_runtime("node")
def test_node_lock_is_what_npm_writes(render, variant, tmp_path):
    """The pruned lockfile is byte for byte what npm writes for this package.json (npm recomputes
    the dev/optional flags and drops extraneous packages, so any error in the pruning shows)."""
    app = render(variant) / "app"
    for name in ("package.json", "package-lock.json"):
        shutil.copy(app / name, tmp_path / name)
    run(["npm", "install", *NPM_LOCK_FLAGS], cwd=tmp_path)
    assert (tmp_path / "package-lock.json").read_text() == (app / "package-lock.json").read_text()


@by_runtime("node")
def test_node_production_install_is_complete(render, variant, tmp_path):
    """The image runs `npm ci --omit=dev`: the production packages alone must load every module."""
    app = render(variant) / "app"
    for name in ("package.json", "package-lock.json"):
        shutil.copy(app / name, tmp_path / name)
    shutil.copytree(app / "src", tmp_path / "src")
    run(["npm", "ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=tmp_path)
    installed = {path.name for path in (tmp_path / "node_modules").iterdir()}
    assert not {"eslint", "prettier"} & installed, "dev packages must not reach the image"
    modules = sorted(path.relative_to(tmp_path).as_posix() for path in (tmp_path / "src").rglob("*.js"))
    entry_points = {"src/server.js", "src/healthcheck.js", "src/migrate.js"}  # they run on import
    entry = [m for m in modules if m not in entry_points]
    script = "".join(f'await import("./{module}");' for module in entry)
    run(["node", "--input-type=module", "-e", script], cwd=tmp_path)
