"""Shared fixtures: each variant is rendered once per session and shared by every assertion."""

from __future__ import annotations

from pathlib import Path

import pytest

from matrix import ROOT, Variant, copy_working_tree


def pytest_configure(config):
    config.option.template = str(ROOT)


@pytest.fixture(scope="session")
def template_copy(tmp_path_factory) -> Path:
    """The template as it is in the working tree, outside git: Copier renders it without cloning."""
    return copy_working_tree(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def render(copie_session, template_copy):
    """render(variant_or_answers) -> project dir, rendered once per session per answers."""
    cache: dict[str, Path] = {}

    def _render(target: Variant | dict) -> Path:
        answers = target.answers if isinstance(target, Variant) else dict(target)
        key = repr(sorted(answers.items(), key=lambda item: item[0]))
        if key not in cache:
            result = copie_session.copy(extra_answers=answers, template_dir=template_copy)
            assert result.exit_code == 0, result.exception
            cache[key] = result.project_dir
        return cache[key]

    return _render


def rendered_files(project: Path) -> list[Path]:
    """Files Copier wrote (renders are never built in: `built` works on a copy)."""
    return sorted(p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts)


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """built(project, runtime) -> a copy of the rendered project after its own `make install`, made
    once per project. Renders are shared by every tier and stay as Copier wrote them: installs,
    builds and the files a test writes (.env) go to the copy."""
    import shutil
    import subprocess

    from runtimes import Driver

    copies: dict[Path, Path] = {}

    def _build(project: Path, runtime: str) -> Path:
        if project not in copies:
            copy = tmp_path_factory.mktemp("built") / project.name
            shutil.copytree(project, copy, symlinks=True)
            proc = subprocess.run(
                ["make", "install"],
                cwd=copy,
                env=Driver(runtime).env(),
                capture_output=True,
                text=True,
                check=False,
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            copies[project] = copy
        return copies[project]

    return _build


# --- time per tier ----------------------------------------------------------------------------------
# CI prints how long each tier takes (README: keep a cold run under 60 minutes). With xdist the tiers
# run interleaved on both workers, so this is each tier's test time (setup, call, teardown) summed.
TIERS = ("unit", "render", "lint", "apiserver", "build", "contract", "e2e", "upgrade", "image")
_tier_seconds: dict[str, float] = {}
_tier_tests: dict[str, set[str]] = {}


def pytest_runtest_logreport(report):
    tier = next((name for name in TIERS if name in report.keywords), "unmarked")
    _tier_seconds[tier] = _tier_seconds.get(tier, 0.0) + report.duration
    _tier_tests.setdefault(tier, set()).add(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    if not _tier_seconds:
        return
    terminalreporter.write_sep("-", "time per tier (test time summed over the workers)")
    for tier in (*TIERS, "unmarked"):
        if tier in _tier_seconds:
            count = len(_tier_tests[tier])
            terminalreporter.write_line(f"{tier:>9}: {_tier_seconds[tier]:7.0f} s  {count:5d} tests")
