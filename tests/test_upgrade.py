"""Upgrade tier: `copier update` keeps every user edit, reports real conflicts, and leaves a repo that
still passes its checks.

A temporary clone of this repo holds two releases: v0.2.0 is the template as it is now, and v0.1.0 is
the same template with deliberate differences (OLD_STATE) in files the user does and does not edit.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from copier import run_copy, run_update

from matrix import DEFAULT, ROOT, Variant, copy_working_tree, implemented, load_extension
from renderings import kustomize
from runtimes import Driver
from support.tools import run, venv_tool

pytestmark = pytest.mark.upgrade

CATALOG = load_extension().catalog
KUBE = "template/deploy/{% if orchestrator == 'kubernetes' %}kubernetes{% endif %}"
# Every runtime's app folder holds its Dockerfile (the image tier builds it).
DOCKERFILES = [
    f"template/{{% if runtime == '{name}' %}}app{{% endif %}}/Dockerfile.jinja"
    for name in implemented("runtime")
]
HEALTHCHECK_NEW, HEALTHCHECK_OLD = "--retries=3 \\\n", "--retries=5 \\\n"

# (path in the template, text in the new release, text in the old release)
OLD_STATE = [
    (f"{KUBE}/base/deployment.yaml.jinja", "revisionHistoryLimit: 5", "revisionHistoryLimit: 10"),
    ("template/README.md.jinja", "## Runtime contract", "## Contract"),
    (
        "template/Makefile.jinja",
        "down: ## Stop the compose stack (data volumes are kept)",
        "down: ## Stop compose",
    ),
    ("template/compose.yaml.jinja", "restart: unless-stopped", "restart: always"),
    *[(path, HEALTHCHECK_NEW, HEALTHCHECK_OLD) for path in DOCKERFILES],
]

# What a developer does to the generated repo: in every runtime, a label on the image a few lines
# above the HEALTHCHECK the new release changes; and per orchestrator.
APP_EDIT = (
    "app/Dockerfile",
    "LABEL org.opencontainers.image.title=",
    'LABEL org.opencontainers.image.vendor="Acme Payments"\nLABEL org.opencontainers.image.title=',
)
DEPLOY_EDITS = {
    "kubernetes": (
        "deploy/kubernetes/overlays/dev/kustomization.yaml",
        "LOG_LEVEL=debug",
        "LOG_LEVEL=warning",
    ),
    "helm": ("deploy/helm/hello-service/values.yaml", 'LOG_LEVEL: "info"', 'LOG_LEVEL: "warning"'),
    "nomad": ("deploy/nomad/hello-service.nomad.hcl", 'kill_timeout = "30s"', 'kill_timeout = "45s"'),
    "swarm": ("deploy/swarm/stack.yaml", "replicas: 2", "replicas: 3"),
}
ADDED_FILE = "docs/runbook.md"
# v0.1.0 (CHANGELOG.md): a real old release, in this repo's history.
FIRST_RELEASE = "943b1e40396d03bfbf517c5d0645a2ce0834ce90"
DELETED_FILE = "catalog-info.yaml"


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", message)


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory) -> Path:
    """A clone of this repo with the working tree as v0.2.0 and OLD_STATE as v0.1.0."""
    repo = copy_working_tree(tmp_path_factory.mktemp("template"))
    git(repo, "init", "-q", "-b", "main")
    for path, new, old in OLD_STATE:
        target = repo / path
        text = target.read_text()
        assert new in text, f"OLD_STATE is stale: {new!r} no longer in {path}"
        target.write_text(text.replace(new, old))
    commit_all(repo, "old release")
    git(repo, "tag", "v0.1.0")
    for path, new, old in OLD_STATE:
        target = repo / path
        target.write_text(target.read_text().replace(old, new))
    commit_all(repo, "new release")
    git(repo, "tag", "v0.2.0")
    return repo


def generate(template_repo: Path, dest: Path, answers: dict) -> Path:
    run_copy(str(template_repo), dest, data=answers, defaults=True, unsafe=True, quiet=True, vcs_ref="v0.1.0")
    git(dest, "init", "-q", "-b", "main")
    commit_all(dest, "generated from v0.1.0")
    return dest


def update(project: Path) -> subprocess.CompletedProcess:
    copier = Path(shutil.which("copier") or "copier")
    return subprocess.run(
        [str(copier), "update", "--trust", "--defaults", "--conflict", "inline", "--vcs-ref", "v0.2.0"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


def conflicted(project: Path) -> list[str]:
    hits = []
    for path in project.rglob("*"):
        if ".git" in path.parts or not path.is_file():
            continue
        if path.suffix == ".rej":
            hits.append(str(path.relative_to(project)))
            continue
        text = path.read_text(errors="replace")
        if "\n<<<<<<< " in f"\n{text}" or "\n>>>>>>> " in f"\n{text}":
            hits.append(str(path.relative_to(project)))
    return hits


VARIANTS = (
    [DEFAULT]
    + [
        Variant("python", orch, "none", ("postgres", "redis"))
        for orch in implemented("orchestrator")
        if orch != DEFAULT.orchestrator
    ]
    + [
        Variant(runtime, DEFAULT.orchestrator, "none", ("postgres", "redis"))
        for runtime in implemented("runtime")
        if runtime != DEFAULT.runtime
    ]
)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_update_keeps_user_edits(template_repo, tmp_path, variant):
    project = generate(template_repo, tmp_path / "project", variant.answers)
    app_path, app_old, app_new = APP_EDIT
    deploy_path, deploy_old, deploy_new = DEPLOY_EDITS[variant.orchestrator]
    for path, old, new in [(app_path, app_old, app_new), (deploy_path, deploy_old, deploy_new)]:
        target = project / path
        assert old in target.read_text(), f"scripted edit no longer applies to {path}"
        target.write_text(target.read_text().replace(old, new, 1))
    (project / ADDED_FILE).parent.mkdir()
    (project / ADDED_FILE).write_text("# Runbook\n\nPage the owner.\n")
    (project / DELETED_FILE).unlink()
    commit_all(project, "user edits")

    proc = update(project)
    assert proc.returncode == 0, proc.stdout + proc.stderr

    assert conflicted(project) == [], proc.stderr
    assert not re.search(r"^\S+:\d+:(<{7}|>{7})", proc.stderr, re.M), "no conflict may be reported"
    assert (
        subprocess.run(["make", "conflicts"], cwd=project, capture_output=True, check=False).returncode == 0
    )
    assert app_new in (project / app_path).read_text()
    assert deploy_new in (project / deploy_path).read_text()
    assert (project / ADDED_FILE).read_text() == "# Runbook\n\nPage the owner.\n"
    assert not (project / DELETED_FILE).exists(), "a file the user deleted must stay deleted"
    # the template's own changes arrived, in files the user touched and in files they did not
    assert "## Runtime contract" in (project / "README.md").read_text()
    assert "restart: unless-stopped" in (project / "compose.yaml").read_text()
    assert HEALTHCHECK_NEW in (project / app_path).read_text(), "in the file the user edited too"
    if variant.orchestrator == "kubernetes":
        assert "revisionHistoryLimit: 5" in (project / "deploy/kubernetes/base/deployment.yaml").read_text()
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v0.2.0"
    # the updated repo still passes its own checks
    lint = subprocess.run(
        [shutil.which("yamllint") or "yamllint", "--strict", "."],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout
    hadolint = run([venv_tool("hadolint"), "--no-color", "app/Dockerfile"], cwd=project)
    assert not hadolint.stdout.strip(), hadolint.stdout
    if variant.orchestrator == "kubernetes":
        for overlay in ("dev", "prod"):
            assert kustomize(project / "deploy" / "kubernetes" / "overlays" / overlay), overlay


def test_update_reports_a_real_conflict(template_repo, tmp_path):
    """User and template change the same line: the conflict is left inline and reported, not resolved."""
    project = generate(template_repo, tmp_path / "project", DEFAULT.answers)
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("## Contract", "## Our service contract"))
    commit_all(project, "user renames a heading the template also renames")

    proc = update(project)
    assert proc.returncode == 0, proc.stderr
    assert conflicted(project) == ["README.md"]
    text = readme.read_text()
    assert "<<<<<<< " in text and "## Our service contract" in text and "## Runtime contract" in text
    assert "README.md:" in proc.stderr and "resolve them, then commit" in proc.stderr, (
        "the conflict must be reported"
    )
    # and the generated repo's own check (run in its CI) fails until it is resolved
    check = subprocess.run(["make", "conflicts"], cwd=project, capture_output=True, text=True, check=False)
    assert check.returncode != 0 and "README.md" in check.stdout


# The lockfiles `make lock` writes that copier.yml hands to the project (`_skip_if_exists`).
OWNED_LOCKFILES = [
    (runtime, f"app/{name}")
    for runtime in implemented("runtime")
    for name in CATALOG.RUNTIMES[runtime].get("lockfiles", [])
    if f"app/{name}" in yaml.safe_load((ROOT / "copier.yml").read_text())["_skip_if_exists"]
]


@pytest.mark.parametrize(("runtime", "path"), OWNED_LOCKFILES, ids=[path for _, path in OWNED_LOCKFILES])
def test_update_never_touches_project_owned_lockfiles(template_repo, tmp_path, runtime, path):
    project = generate(template_repo, tmp_path / "project", {**DEFAULT.answers, "runtime": runtime})
    lock = project / path
    relocked = lock.read_text().replace("0", "1") + "\n"
    lock.write_text(relocked)
    commit_all(project, "user re-locked")
    proc = update(project)
    assert proc.returncode == 0, proc.stderr
    assert lock.read_text() == relocked
    assert conflicted(project) == []


def test_check_update_sees_the_new_release(template_repo, tmp_path):
    project = generate(template_repo, tmp_path / "project", DEFAULT.answers)
    copier = shutil.which("copier") or "copier"
    proc = subprocess.run(
        [copier, "check-update", "--output-format", "json"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert '"update_available": true' in proc.stdout.replace(" ", "").replace('":', '": ')


def test_old_release_answers_render_with_run_update_api(template_repo, tmp_path):
    """The Python API path (what pytest-copie uses) agrees with the CLI."""
    project = generate(template_repo, tmp_path / "project", DEFAULT.answers)
    run_update(str(project), defaults=True, unsafe=True, quiet=True, overwrite=True, vcs_ref="v0.2.0")
    assert "## Runtime contract" in (project / "README.md").read_text()


def release_pair(repo: Path, old: str) -> Path:
    """A clone of this repo at `repo` with a real old commit as v0.1.0 and the working tree as v0.2.0."""
    git(ROOT, "worktree", "prune")
    proc = subprocess.run(
        ["git", "clone", "-q", "--no-checkout", "--no-tags", str(ROOT), str(repo)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    git(repo, "tag", "v0.1.0", old)
    git(repo, "checkout", "-q", "-b", "next", old)
    for path in repo.iterdir():
        if path.name != ".git":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    copy_working_tree(repo)
    commit_all(repo, "next release")
    git(repo, "tag", "v0.2.0")
    return repo


def test_migration_from_the_first_release_renames_the_secrets_answer(tmp_path):
    """A real release pair: v0.1.0 (asked `secrets_backend`) to the working tree (asks `secrets`)."""
    repo = release_pair(tmp_path / "template", FIRST_RELEASE)

    project = generate(repo, tmp_path / "project", {"secrets_backend": "kubernetes"})
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["secrets_backend"] == "kubernetes"
    proc = update(project)
    assert proc.returncode == 0, proc.stderr
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["secrets"] == "kubernetes"
    assert "secrets_backend" not in answers
    assert answers["_commit"] == "v0.2.0"


# The last landed commit before the Java app moved to Spring Boot (CHANGELOG 0.2.0): its Java app was
# hand-built on the JDK's HTTP server.
BEFORE_SPRING_BOOT = "b25822e2a3255ba72fb6712efdf4ef5b922fc1a1"


def test_java_repo_moves_to_spring_boot_keeping_its_own_files(tmp_path):
    """A real release pair: a Java repo generated before the move updates to the working tree. The old
    hand-built sources go, Spring Boot's arrive, the developer's own class and ignore rule stay, there
    is no conflict, and the updated app builds with Maven."""
    repo = release_pair(tmp_path / "template", BEFORE_SPRING_BOOT)

    answers = {**DEFAULT.answers, "runtime": "java", "data_services": ["postgres"]}
    project = generate(repo, tmp_path / "project", answers)
    package = project / "app/src/main/java/com/example/helloservice"
    assert (package / "HttpApp.java").exists(), "the old release's hand-built server"
    own = package / "Greeter.java"
    own.write_text(
        "package com.example.helloservice;\n\n/** The developer's own code. */\n"
        "public final class Greeter {\n  private Greeter() {}\n\n"
        "  public static String greet(String name) {\n"
        '    return "Hello, " + name;\n  }\n}\n'
    )
    ignore = project / "app/.gitignore"
    ignore.write_text(ignore.read_text() + "*.log\n")
    commit_all(project, "user edits")

    proc = update(project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert conflicted(project) == [], proc.stderr
    assert not (package / "HttpApp.java").exists(), "sources the template dropped are removed"
    assert "spring-boot-starter-parent" in (project / "app/pom.xml").read_text()
    assert (package / "postgres" / "Migration.java").exists()
    assert own.exists() and ignore.read_text().endswith("*.log\n"), "the developer's files are kept"
    build = subprocess.run(
        ["mvn", "-B", "-q", "package", "-DskipTests"],
        cwd=project / "app",
        env=Driver("java").env(),  # Maven 3.9, which checks the trusted checksums the update brought
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-5000:]
