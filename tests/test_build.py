"""Build tier: each runtime's generated app installs with its own `make install`, and `make lint test` pass,
with no data services and with every one the runtime supports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from matrix import edge_variants
from runtimes import Driver

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
    project = render(variant)
    built(project, variant.runtime)
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
