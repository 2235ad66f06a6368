"""Render tier: every implemented combination renders once; files, parsing, wiring and refusals."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib

import hcl2
import pytest
import yaml
from copier import run_copy

from conftest import rendered_files
from matrix import DEFAULT, HOSTILE, REFUSED, ROOT, all_variants, implemented, load_extension, questions

pytestmark = pytest.mark.render

VARIANTS = all_variants()
EXT = load_extension()
# Jinja left in output. Not flagged: GitHub Actions `${{ }}`, Prometheus `{{ $labels.x }}` and
# Grafana legends `{{label}}`, which are the target formats' own templates.
LEFTOVER = re.compile(r"(?<!\$)\{\{(?! \$labels\.)(?![a-z_]+\}\})|\{%|\{#|\bjinja\b")
# Files that are Go templates once rendered (Helm's, and the Nomad job's consul-template blocks):
# `{{` is theirs, but Jinja's statements and comments must not survive.
GO_TEMPLATES = re.compile(r"^deploy/helm/[^/]+/templates/|^deploy/nomad/")
JINJA_ONLY = re.compile(r"\{%|\{#|\bjinja\b")
HELM_TEMPLATES = re.compile(r"^deploy/helm/[^/]+/templates/")  # YAML only once Helm renders them


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_variant_renders_complete_and_clean(render, variant):
    project = render(variant)
    files = {p.relative_to(project).as_posix() for p in rendered_files(project)}

    common = {
        "README.md",
        "Makefile",
        "compose.yaml",
        ".env.example",
        ".gitignore",
        ".yamllint.yaml",
        ".copier-answers.yml",
        "catalog-info.yaml",
        "app/Dockerfile",
        "app/.dockerignore",
    }
    assert common <= files
    assert not any(name.endswith(".jinja") for name in files)
    assert not any("includes/" in name or name.startswith("extensions/") for name in files)

    deploy_dirs = {name.split("/")[1] for name in files if name.startswith("deploy/")}
    assert deploy_dirs == {variant.orchestrator}
    assert any(name.startswith("infra/") for name in files) == (variant.cloud != "none")
    dev_services = "deploy/kubernetes/overlays/dev/data-services.yaml"
    if variant.orchestrator == "kubernetes":
        assert (dev_services in files) == bool(variant.data_services)

    for path in rendered_files(project):
        text = path.read_text()
        rel = path.relative_to(project).as_posix()
        leftover = JINJA_ONLY if GO_TEMPLATES.match(rel) else LEFTOVER
        assert not leftover.search(text.replace("${{", "")), f"leftover Jinja in {rel}"
        if text:
            assert text.endswith("\n") and not text.endswith("\n\n"), f"{rel} must end with one newline"
        assert not re.search(r"[ \t]+$", text, re.M), f"trailing whitespace in {rel}"
        if (
            path.suffix in {".yaml", ".yml", ".hcl", ".json", ".md", ".tpl", ".txt"}
            or path.name == "Makefile"
        ):
            assert "\n\n\n" not in text and not text.startswith("\n"), f"stray blank lines in {rel}"
        if path.suffix in {".yaml", ".yml"} and not HELM_TEMPLATES.match(rel):
            list(yaml.safe_load_all(text))
        elif path.suffix == ".json":
            json.loads(text)
        elif path.suffix == ".toml":
            tomllib.loads(text)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_compose_wires_every_service(render, variant):
    compose = yaml.safe_load((render(variant) / "compose.yaml").read_text())
    app = compose["services"]["app"]
    migrates = (
        "postgres" in variant.data_services and "migrate_command" in EXT.catalog.RUNTIMES[variant.runtime]
    )
    migrate = {"migrate"} if migrates else set()
    collector = {"otel-collector"} if dict(variant.extra).get("observability", True) else set()
    local_stack = set(EXT.catalog.OBSERVABILITY["local"]) if collector else set()
    assert set(compose["services"]) == {"app", *variant.data_services, *migrate, *collector, *local_stack}
    expected = {key: {"condition": "service_healthy"} for key in variant.data_services}
    expected.update({key: {"condition": "service_completed_successfully"} for key in migrate})
    expected.update({key: {"condition": "service_started"} for key in collector})
    assert app.get("depends_on", {}) == expected
    if migrate:
        job = compose["services"]["migrate"]
        assert job["read_only"] is True and job["user"] == "10001:10001" and job["restart"] == "no"
        assert job["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert app["read_only"] is True and app["cap_drop"] == ["ALL"]
    assert app["user"] == "10001:10001"
    for key in variant.data_services:
        service = compose["services"][key]
        assert service["healthcheck"]["test"], key
        assert re.fullmatch(r"[a-z0-9./-]+:\d[\w.-]*", service["image"]), f"{key} image must be pinned"
        if EXT.catalog.DATA_SERVICES[key]["data_dir"]:
            volume = service["volumes"][0].split(":")[0]
            assert volume in compose["volumes"], f"{key} data must live in a named volume"
    env_names = [name for name in app["environment"]]
    answers = yaml.safe_load((render(variant) / ".copier-answers.yml").read_text())
    assert answers["data_services"] == list(variant.data_services)
    assert answers["runtime"] == variant.runtime
    assert len(env_names) == len(set(env_names))


def _copy(tmp_path, data):
    return run_copy(
        str(ROOT), tmp_path / "out", data=data, defaults=True, unsafe=True, quiet=True, vcs_ref="HEAD"
    )


@pytest.mark.parametrize(
    "case", REFUSED, ids=[f"{c['question']}={c['answers'][c['question']]!r}"[:60] for c in REFUSED]
)
def test_refused_answers_stop_at_the_prompt(tmp_path, case):
    with pytest.raises(ValueError, match=re.escape(case["message"])) as info:
        _copy(tmp_path, case["answers"])
    assert case["question"] in str(info.value)
    assert not (tmp_path / "out").exists(), "a refused answer must write nothing"
    # the prompt shows this same line under a typed answer, cut at the terminal's width
    assert len(str(info.value)) <= EXT.PROMPT_WIDTH, f"does not fit an 80-column terminal: {info.value}"


def test_cli_refuses_a_bad_slug_with_a_clear_message(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--trust",
            "--defaults",
            "--data",
            "project_slug=My_App",
            str(ROOT),
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Validation error for question 'project_slug': only a-z, 0-9 and '-'" in proc.stderr
    assert not out.exists()


def test_hostile_free_text_parses_and_round_trips(render):
    project = render({**DEFAULT.answers, **HOSTILE})
    catalog = list(yaml.safe_load_all((project / "catalog-info.yaml").read_text()))
    component = catalog[0]
    assert component["metadata"]["title"] == HOSTILE["project_name"]
    assert component["metadata"]["description"] == HOSTILE["description"]
    assert component["spec"]["owner"] == HOSTILE["owner"]
    assert component["metadata"]["name"] == HOSTILE["project_slug"]
    pyproject = tomllib.loads((project / "app" / "pyproject.toml").read_text())
    assert pyproject["project"]["description"] == HOSTILE["description"]
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {key: answers[key] for key in HOSTILE} == HOSTILE
    for path in rendered_files(project):
        if path.suffix in {".yaml", ".yml"}:
            list(yaml.safe_load_all(path.read_text()))
    dockerfile = (project / "app" / "Dockerfile").read_text()
    assert 'naïve: 日本 ✓"' in dockerfile and "\\${HOME}" not in dockerfile.replace("\\$", "")


@pytest.mark.parametrize("orchestrator", ["helm", "nomad", "swarm"])
def test_hostile_free_text_reaches_every_orchestrator(render, orchestrator):
    project = render({**DEFAULT.answers, **HOSTILE, "orchestrator": orchestrator})
    slug = HOSTILE["project_slug"]
    for path in rendered_files(project):
        if path.suffix in {".yaml", ".yml"} and not HELM_TEMPLATES.match(
            path.relative_to(project).as_posix()
        ):
            list(yaml.safe_load_all(path.read_text()))
    if orchestrator == "helm":
        chart = yaml.safe_load((project / "deploy" / "helm" / slug / "Chart.yaml").read_text())
        assert chart["name"] == slug
        assert chart["description"] == " ".join(HOSTILE["description"].split())
        assert chart["annotations"]["owner"] == HOSTILE["owner"]
    elif orchestrator == "nomad":
        job = hcl2.loads((project / "deploy" / "nomad" / f"{slug}.nomad.hcl").read_text())
        meta = job["job"][0][f'"{slug}"']["meta"][0]
        for key, answer in [("project", "project_name"), ("description", "description"), ("owner", "owner")]:
            # python-hcl2 returns the literal as written: unquote and unescape it as Nomad does.
            literal = meta[key].replace("$${", "${").replace("%%{", "%{")
            assert json.loads(literal) == HOSTILE[answer], key
    else:
        stack = yaml.safe_load((project / "deploy" / "swarm" / "stack.yaml").read_text())
        assert stack["services"]["app"]["environment"]["SERVICE_NAME"] == slug


@pytest.mark.parametrize("ci_provider", implemented("ci_provider"))
def test_ci_folder_and_readme_follow_ci_provider(render, ci_provider):
    project = render({**DEFAULT.answers, "cloud": "aws", "ci_provider": ci_provider})
    readme = (project / "README.md").read_text()
    files = {entry["file"] for entry in EXT.catalog.CI_PROVIDERS.values() if entry["file"]}
    ours = EXT.catalog.CI_PROVIDERS[ci_provider]["file"]
    assert [f for f in files if (project / f).is_file()] == ([ours] if ours else [])
    assert not any((project / f.split("/")[0]).exists() for f in files - {ours}), "no empty CI folder"
    if ci_provider == "none":
        assert "No CI was generated" in readme and "CI checks" not in readme
    else:
        assert "CI checks it on every push" in readme


def test_readme_question_table_matches_copier_yml():
    readme = (ROOT / "README.md").read_text()
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| ((?:\\\||[^|])*?) \|", readme, re.M)
    table = {name: (kind, default.replace("\\|", "|")) for name, kind, default in rows}
    for name, spec in questions().items():
        assert name in table, f"README question table misses {name}"
        assert table[name][0] == spec["type"], name
        default = spec["default"]
        shown = (
            ", ".join(default)
            if isinstance(default, list)
            else str(default).lower()
            if isinstance(default, bool)
            else str(default)
        )
        assert table[name][1].strip("`") == shown, name
    assert set(table) == set(questions()), "README lists questions copier.yml does not ask"


def test_every_question_has_type_help_and_default():
    for name, spec in questions().items():
        assert {"type", "help", "default"} <= set(spec), name


NODE = [v for v in VARIANTS if v.runtime == "node"]


@pytest.mark.parametrize("variant", NODE, ids=[v.id for v in NODE])
def test_node_package_json_and_lockfile_agree(render, variant):
    app = render(variant) / "app"
    package = json.loads((app / "package.json").read_text())
    lock = json.loads((app / "package-lock.json").read_text())
    root = lock["packages"][""]
    assert (lock["name"], lock["version"]) == (package["name"], package["version"])
    for key in ("name", "version", "dependencies", "devDependencies", "engines"):
        assert root[key] == package[key], key
    clients = {
        "postgres": "pg",
        "mongodb": "mongodb",
        "redis": "redis",
        "memcached": "memjs",
        "kafka": "@platformatic/kafka",
        "rabbitmq": "amqplib",
    }
    for service, client in clients.items():
        assert (client in package["dependencies"]) == (service in variant.data_services)
        assert (f"node_modules/{client}" in lock["packages"]) == (service in variant.data_services)
    sources = {p.relative_to(app).as_posix() for p in (app / "src" / "services").glob("*.js")}
    brokers = {"kafka", "rabbitmq"} & set(variant.data_services)
    shared = {"src/services/events.js"} if brokers else set()
    assert sources == {f"src/services/{service}.js" for service in variant.data_services} | shared


def test_hostile_free_text_round_trips_in_the_node_app(render):
    project = render({**DEFAULT.answers, "runtime": "node", **HOSTILE})
    package = json.loads((project / "app" / "package.json").read_text())
    assert package["description"] == HOSTILE["description"]
    assert package["name"] == HOSTILE["project_slug"]
    lock = json.loads((project / "app" / "package-lock.json").read_text())
    assert lock["packages"][""]["name"] == HOSTILE["project_slug"]
    sources = "".join(p.read_text() for p in (project / "app").rglob("*.js"))
    assert HOSTILE["project_slug"] not in sources, "JavaScript reads its name from package.json"


@pytest.mark.parametrize("runtime", implemented("runtime"))
def test_defaults_render_for_every_runtime(render, runtime):
    """`copier copy --defaults --data runtime=X` works: the default services follow the runtime."""
    project = render({"runtime": runtime})
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    supported = EXT.catalog.RUNTIMES[runtime]["services"]
    assert answers["data_services"] == [key for key in ("postgres", "redis") if key in supported]
    assert (project / "app" / "Dockerfile").exists()


@pytest.mark.parametrize("runtime", implemented("runtime"))
def test_the_benchmarks_find_what_the_row_names(render, runtime):
    """scripts/bench_apps.py and scripts/bench_images.py read the row's `bench`: its source-only edit
    names a file of the rendered app, its bare app exists with every `@name@` a string of the row, and
    a reference Dockerfile is there where the row names one."""
    bench = EXT.catalog.RUNTIMES[runtime]["bench"]
    pattern, comment = bench["source_edit"]
    assert sorted((render({"runtime": runtime}) / "app").glob(pattern)), pattern
    assert "{i}" in comment and comment.endswith("\n")
    folder = ROOT / "scripts" / "bench" / runtime
    assert any((folder / "bare").iterdir())
    strings = {key for key, value in EXT.catalog.RUNTIMES[runtime].items() if isinstance(value, str)}
    for template in (folder / "bare").rglob("*.in"):
        assert set(re.findall(r"@(\w+)@", template.read_text())) <= strings, template
    assert (folder / "reference.Dockerfile").is_file() == ("reference" in bench)
