"""Build tier: the generated app installs into a fresh venv and its own test-suite passes."""

from __future__ import annotations

import subprocess

import pytest

from matrix import edge_variants

pytestmark = pytest.mark.build

PYTHON = [v for v in edge_variants() if v.runtime == "python"]


@pytest.mark.parametrize("variant", PYTHON, ids=[v.id for v in PYTHON])
def test_python_app_installs_and_its_tests_pass(render, built, variant):
    project = render(variant)
    python = built(project)
    proc = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project / "app",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout and " failed" not in proc.stdout
    # the locked set is complete: nothing the app imports is missing from requirements.lock
    check = subprocess.run([str(python), "-m", "pip", "check"], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stdout
