"""Build tier: each runtime's generated app installs with its own `make install`, and `make lint test` pass,
with no data services and with every one the runtime supports."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from matrix import HOSTILE, edge_variants, implemented
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
LOCKING = [v for v in APPS if "lock" in Driver(v.runtime).row["commands"]]


def built_apps(variants):
    """Each variant's tests on one worker: they share its one `make install` (the `built` fixture)."""
    return [pytest.param(v, id=v.id, marks=pytest.mark.xdist_group(f"build-{v.id}")) for v in variants]


@pytest.mark.parametrize("variant", built_apps(APPS))
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


@pytest.mark.parametrize("runtime", implemented("runtime"))
def test_app_with_hostile_answers_passes_its_lint(render, built, runtime):
    """Free text and the longest slug reach each app's manifest, sources and docs: they still
    install, and the app's own linters and formatters accept them."""
    project = built(render({"runtime": runtime, **HOSTILE}), runtime)
    run(["make", "lint"], cwd=project, env=Driver(runtime).env())


@pytest.mark.parametrize("variant", built_apps(LOCKING))
def test_make_lock_rewrites_nothing(render, built, variant):
    """Each lockfile, cut from the runtime's lock data, is byte for byte what the project's own
    `make lock` writes with the ecosystem's tool (uv from PyPI with each file's hash, npm recomputing
    its flags and dropping extraneous packages, `go mod tidy` checked against the checksum database,
    Maven's resolver recording the SHA-256 of every artifact install, lint and test resolve)."""
    project = built(render(variant), variant.runtime)
    driver = Driver(variant.runtime)
    lockfiles = [project / "app" / name for name in driver.row["lockfiles"]]
    before = {path: path.read_bytes() for path in lockfiles}
    proc = subprocess.run(
        ["make", "lock"], cwd=project, env=driver.env(), capture_output=True, text=True, check=False
    )
    rewritten = [path.name for path in lockfiles if path.read_bytes() != before[path]]
    for path, content in before.items():  # the built copy stays as installed for the other tests
        path.write_bytes(content)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not rewritten, f"`make lock` rewrites {rewritten}: rerun the runtime's scripts/*_lock.py"


# One app per runtime: every digest in its lockfiles changed, `make install` must refuse to go on.
CHECKED = list({v.runtime: v for v in LOCKING if not v.data_services}.values())


@pytest.mark.parametrize("variant", CHECKED, ids=[v.runtime for v in CHECKED])
def test_make_install_refuses_a_changed_digest(render, variant, tmp_path):
    """The lockfiles are enforced, not decoration: with each file's digest changed (the row's
    `integrity` pattern), the ecosystem's own tool stops `make install` with a checksum error, even
    with the real files already in its cache."""
    project = tmp_path / "project"
    shutil.copytree(render(variant), project)
    driver = Driver(variant.runtime)

    def changed(match: re.Match) -> str:
        digest = match.group(1)
        return match.group(0).replace(digest, ("b" if digest[0] == "a" else "a") + digest[1:], 1)

    touched = 0
    for name in driver.row["lockfiles"]:
        path = project / "app" / name
        text, count = re.subn(driver.row["integrity"]["digest"], changed, path.read_text())
        path.write_text(text)
        touched += count
    assert touched, "the row's integrity pattern finds no digest in its lockfiles"
    env = {**driver.env(), **driver.row["integrity"].get("env", {})}
    proc = subprocess.run(
        ["make", "install"], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"make install accepted {touched} changed digests:\n{output[-3000:]}"
    assert re.search(r"(?i)hash|integrity|checksum", output), output[-3000:]


PRODUCTION = [v for v in APPS if "production_check" in Driver(v.runtime).row]


@pytest.mark.parametrize("variant", PRODUCTION, ids=[v.id for v in PRODUCTION])
def test_production_install_is_complete(render, variant, tmp_path):
    """Where the image installs less than `make install` does (the row's `production_check`: the
    lock alone, without dev packages), what it installs in a fresh copy of the app must load every
    module."""
    app = tmp_path / "app"
    shutil.copytree(render(variant) / "app", app)
    driver = Driver(variant.runtime)
    run(["sh", "-c", driver.row["production_check"]], cwd=app, env=driver.env())
