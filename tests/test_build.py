"""Build tier: the generated app installs with its own `make install`, and its `make lint test` pass."""

from __future__ import annotations

import subprocess
import sys

import pytest

from matrix import DEFAULT, edge_variants

pytestmark = pytest.mark.build

# The app depends on the runtime and the data services, not on the orchestrator: build it once per set.
PYTHON = [v for v in edge_variants() if v.runtime == "python" and v.orchestrator == DEFAULT.orchestrator]


@pytest.mark.parametrize("variant", PYTHON, ids=[v.id for v in PYTHON])
def test_python_app_installs_and_its_lint_and_tests_pass(render, built, variant):
    project = render(variant)
    python = built(project)
    proc = subprocess.run(["make", "lint", "test"], cwd=project, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout and " failed" not in proc.stdout
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout


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
