"""Shared fixtures: each variant is rendered once per session and shared by every assertion."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import pytest

from matrix import ROOT, Variant


def pytest_configure(config):
    config.option.template = str(ROOT)


@pytest.fixture(scope="session")
def render(copie_session):
    """render(variant_or_answers) -> project dir, rendered once per session per answers."""
    cache: dict[str, Path] = {}

    def _render(target: Variant | dict) -> Path:
        answers = target.answers if isinstance(target, Variant) else dict(target)
        key = repr(sorted(answers.items(), key=lambda item: item[0]))
        if key not in cache:
            result = copie_session.copy(extra_answers=answers)
            assert result.exit_code == 0, result.exception
            cache[key] = result.project_dir
        return cache[key]

    return _render


def rendered_files(project: Path) -> list[Path]:
    """Every file the render wrote. Other tiers install into the same rendered project (one render per
    session), so directories its .gitignore names as build output (.venv/, node_modules/) are skipped."""
    gitignore = project / ".gitignore"
    lines = gitignore.read_text().splitlines() if gitignore.exists() else []
    build_dirs = [line.rstrip("/") for line in lines if line.endswith("/")]

    def is_build_output(path: Path) -> bool:
        parents = path.relative_to(project).parts[:-1]
        return any(fnmatch.fnmatch(part, pattern) for part in parents for pattern in build_dirs)

    return sorted(
        p for p in project.rglob("*") if p.is_file() and ".git" not in p.parts and not is_build_output(p)
    )


@pytest.fixture(scope="session")
def built():
    """built(project) -> its app/ dir after the generated `make install` (once per project)."""
    import subprocess

    done: dict[Path, Path] = {}

    def _build(project: Path) -> Path:
        if project not in done:
            proc = subprocess.run(
                ["make", "install"], cwd=project, capture_output=True, text=True, check=False
            )
            assert proc.returncode == 0, proc.stdout + proc.stderr
            done[project] = project / "app"
        return done[project]

    return _build
