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


ARTIFACTS = {".git", ".venv", ".pytest_cache", ".ruff_cache", "__pycache__", "node_modules", "target"}


def rendered_files(project: Path) -> list[Path]:
    """Files Copier wrote (not what later build tiers left in the shared render)."""
    return sorted(
        p
        for p in project.rglob("*")
        if p.is_file()
        and not ARTIFACTS & set(p.parts)
        and not any(part.endswith(".egg-info") for part in p.parts)
        and p.name != ".env"
    )


@pytest.fixture(scope="session")
def built():
    """built(project, runtime) -> the project after its own `make install` (once per project)."""
    import subprocess

    from runtimes import Driver

    done: set[Path] = set()

    def _build(project: Path, runtime: str = "python") -> Path:
        if project not in done:
            driver = Driver(runtime)
            proc = subprocess.run(
                ["make", "install"],
                cwd=project,
                env=driver.env(),
                capture_output=True,
                text=True,
                check=False,
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            done.add(project)
        return project / "app" / ".venv" / "bin" / "python"

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
