"""Build tier: each runtime's generated app installs with its own `make install`, and `make lint test` pass,
with no data services and with every one the runtime supports."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from matrix import edge_variants
from runtimes import Driver
from support.tools import run

pytestmark = pytest.mark.build

# One per runtime and service set: the app does not depend on the orchestrator or the cloud.
APPS = list(
    {
        (v.runtime, v.data_services, v.extra): v
        for v in edge_variants()
        if v.orchestrator == "kubernetes" and v.cloud == "none"
    }.values()
)
PYTHON = [v for v in APPS if v.runtime == "python"]


@pytest.mark.parametrize("variant", APPS, ids=[v.id for v in APPS])
def test_app_installs_and_its_lint_and_tests_pass(render, built, variant):
    project = built(render(variant), variant.runtime)
    proc = subprocess.run(
        ["make", "lint", "test"],
        cwd=project,
        env=Driver(variant.runtime).env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-5000:]


@pytest.mark.parametrize("variant", PYTHON, ids=[v.id for v in PYTHON])
def test_python_lock_is_complete(render, variant, tmp_path):
    """The image installs requirements.lock with --no-deps: the lock alone must satisfy every requirement."""
    project = render(variant)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    install = subprocess.run(
        [*pip, "install", "--quiet", "--no-deps", "-r", "requirements.lock"],
        cwd=project / "app",
        capture_output=True,
        text=True,
        check=False,
    )
    assert install.returncode == 0, install.stderr
    check = subprocess.run([*pip, "check"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout
    imports = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import service.main, service.__main__"],
        cwd=project / "app",
        capture_output=True,
        text=True,
        check=False,
    )
    assert imports.returncode == 0, imports.stderr


# --- node -------------------------------------------------------------------------------------------

NODE = [v for v in APPS if v.runtime == "node"]
# Explicit, so the result does not depend on the machine's npmrc (ours omits `resolved`).
NPM_LOCK_FLAGS = [
    "--package-lock-only",
    "--ignore-scripts",
    "--no-audit",
    "--no-fund",
    "--omit-lockfile-registry-resolved=false",
]


@pytest.mark.parametrize("variant", NODE, ids=[v.id for v in NODE])
def test_node_lock_is_what_npm_writes(render, variant, tmp_path):
    """The pruned lockfile is byte for byte what npm writes for this package.json (npm recomputes
    the dev/optional flags and drops extraneous packages, so any error in the pruning shows)."""
    app = render(variant) / "app"
    for name in ("package.json", "package-lock.json"):
        shutil.copy(app / name, tmp_path / name)
    run(["npm", "install", *NPM_LOCK_FLAGS], cwd=tmp_path)
    assert (tmp_path / "package-lock.json").read_text() == (app / "package-lock.json").read_text()


@pytest.mark.parametrize("variant", NODE, ids=[v.id for v in NODE])
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
    script = "".join(f'await import("./{module}");' for module in modules if module not in entry_points)
    run(["node", "--input-type=module", "-e", script], cwd=tmp_path)


# --- go ---------------------------------------------------------------------------------------------

GO = [v for v in APPS if v.runtime == "go"]


@pytest.mark.parametrize("variant", GO, ids=[v.id for v in GO])
def test_go_module_files_are_what_go_mod_tidy_writes(render, variant, tmp_path):
    """go.mod and go.sum (cut from extensions/go-lock.json) are byte for byte what `go mod tidy` writes
    for the app's imports, resolved from the Go module proxy and checked against the checksum database."""
    app = tmp_path / "app"
    shutil.copytree(render(variant) / "app", app)
    proc = subprocess.run(
        ["go", "mod", "tidy", "-diff"],
        cwd=app,
        env=Driver("go").env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"run scripts/go_lock.py:\n{proc.stdout[-5000:]}{proc.stderr[-2000:]}"
