"""The variant matrix, as data derived from copier.yml.

A choice is *implemented* when its validator renders empty; the matrix is every combination of the
implemented choices of the questions in AXES, with every subset of the implemented data services.
REFUSED lists answers that must stop at the prompt, with a fragment of the message the user sees.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2
import yaml

ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = ROOT / "copier.yml"
AXES = ("runtime", "orchestrator", "cloud")


def copy_working_tree(dest: Path) -> Path:
    """The template's working tree (tracked and new files, not ignored) copied to dest, outside git:
    what the tests render and upgrade, uncommitted edits included."""
    listing = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for name in filter(None, listing.split("\0")):
        if (ROOT / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, dest / name)
    return dest


def render_app(runtime: str, template: Path, dest: Path, services: list[str], observability: bool) -> Path:
    """app/ of a project with these answers and the other defaults, rendered by Copier from `template`
    (a copy of the working tree): what the lock scripts resolve."""
    from copier import run_copy

    data = {"runtime": runtime, "data_services": services, "observability": observability}
    run_copy(str(template), str(dest), data=data, defaults=True, unsafe=True, quiet=True)
    return dest / "app"


def part_combinations(services: list[str]) -> list[tuple[list[str], bool]]:
    """Every (data services, observability) answer pair: each combination of parts a lock serves."""
    return [
        (list(chosen), observability)
        for size in range(len(services) + 1)
        for chosen in itertools.combinations(services, size)
        for observability in (False, True)
    ]


def check_combinations(runtime: str, template: Path, work: Path, services: list[str], problem) -> int:
    """Renders the app for every combination of parts and calls problem(app) -> None, or what the
    ecosystem's tool would change; prints each problem and the count, returns the exit status."""
    failures = 0
    combos = part_combinations(services)
    for n, combo in enumerate(combos):
        found = problem(render_app(runtime, template, work / f"check-{n}", *combo))
        if found:
            failures += 1
            print(f"{combo}: {found}", file=sys.stderr)
    print(f"checked {len(combos)} combinations: {failures} differ")
    return 1 if failures else 0


def load_extension():
    """extensions/context.py as a module (the same file Copier loads)."""
    name = "cn_template_context"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "extensions" / "context.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@cache
def questions() -> dict:
    data = yaml.safe_load(COPIER_YML.read_text())
    return {key: value for key, value in data.items() if not key.startswith("_")}


def jinja_env(*, files: bool = True) -> jinja2.Environment:
    """Plain Jinja with the template's filters and globals (as Copier's Filters extension adds them),
    strict about undefined names; with `files`, templates and macros load from the repository."""
    ext = load_extension()
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(ROOT)) if files else None,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(ext.FILTERS)
    env.globals.update(ext.GLOBALS)
    return env


def default_answers(**answers) -> dict:
    """Every question's answer: as given, else its default (a templated default rendered from the
    answers before it, as Copier does)."""
    env = jinja_env(files=False)
    values: dict = {}
    for name, q in questions().items():
        default = q.get("default")
        if name in answers:
            values[name] = answers[name]
        elif isinstance(default, str) and "{{" in default:
            rendered = env.from_string(default).render(values)
            values[name] = yaml.safe_load(rendered) if q.get("multiselect") else rendered
        else:
            values[name] = default
    return values


@cache
def choices(question: str, **answers) -> dict[str, str]:
    """value -> refusal message ("" when implemented), in copier.yml order, with the other answers at
    their defaults or as given (a choice may depend on them: a cloud on the orchestrator)."""
    env = jinja_env(files=False)
    context = default_answers(**answers)
    result = {}
    for entry in (
        questions()[question]["choices"].values()
        if isinstance(questions()[question]["choices"], dict)
        else questions()[question]["choices"]
    ):
        if isinstance(entry, dict):
            result[entry["value"]] = env.from_string(entry.get("validator", "")).render(context).strip()
        else:
            result[str(entry)] = ""
    return result


def implemented(question: str, **answers) -> list[str]:
    return [value for value, refusal in choices(question, **answers).items() if not refusal]


def refused(question: str, **answers) -> dict[str, str]:
    return {value: refusal for value, refusal in choices(question, **answers).items() if refusal}


@dataclass(frozen=True)
class Variant:
    runtime: str
    orchestrator: str
    cloud: str
    data_services: tuple[str, ...]
    extra: tuple[tuple[str, object], ...] = field(default=())

    @property
    def id(self) -> str:
        services = "+".join(self.data_services) or "no-services"
        extra = "".join(f"-{key}={value}" for key, value in self.extra)
        return f"{self.runtime}-{self.orchestrator}-{self.cloud}-{services}{extra}"

    @property
    def answers(self) -> dict:
        return {
            "runtime": self.runtime,
            "orchestrator": self.orchestrator,
            "cloud": self.cloud,
            "data_services": list(self.data_services),
            **dict(self.extra),
        }


def supported_services(runtime: str) -> tuple[str, ...]:
    """The implemented data services the runtime's app supports (catalog order)."""
    catalog = load_extension().catalog
    return tuple(
        s for s in implemented("data_services") if s in catalog.RUNTIMES[runtime].get("services", ())
    )


def service_subsets(runtime: str) -> list[tuple[str, ...]]:
    services = supported_services(runtime)
    return [combo for n in range(len(services) + 1) for combo in itertools.combinations(services, n)]


def all_variants() -> list[Variant]:
    """The render matrix, as readable data:
    - every runtime x orchestrator x cloud, with no data services and with every one the runtime supports
      that the cloud can host for that orchestrator;
    - every runtime x orchestrator with each data service alone (each service's code path per runtime);
    - every subset of the data services, for each runtime on the default orchestrator and cloud.
    """
    variants: dict[str, Variant] = {}

    def add(variant: Variant) -> None:
        variants.setdefault(variant.id, variant)

    for runtime in implemented("runtime"):
        everything = supported_services(runtime)
        for orchestrator in implemented("orchestrator"):
            for cloud in implemented("cloud", orchestrator=orchestrator):
                add(Variant(runtime, orchestrator, cloud, ()))
                # those the cloud can host there (on virtual machines: the ones it manages)
                hosted = tuple(
                    svc
                    for svc in everything
                    if cloud in implemented("cloud", orchestrator=orchestrator, data_services=(svc,))
                )
                add(Variant(runtime, orchestrator, cloud, hosted))
            for service in everything:
                add(Variant(runtime, orchestrator, DEFAULT.cloud, (service,)))
        for services in service_subsets(runtime):
            add(Variant(runtime, DEFAULT.orchestrator, DEFAULT.cloud, services))
        # the observability answer changes app code, compose and manifests: render both sides
        for orchestrator in implemented("orchestrator"):
            add(Variant(runtime, orchestrator, DEFAULT.cloud, everything, (("observability", False),)))
    for variant in mesh_and_secrets_variants():
        add(variant)
    return list(variants.values())


def kubernetes_orchestrators() -> list[str]:
    """The implemented orchestrators a service mesh and a secrets operator go with."""
    return [o for o in implemented("orchestrator") if o in load_extension().catalog.KUBERNETES_ORCHESTRATORS]


def mesh_and_secrets_variants() -> list[Variant]:
    """Targeted, not multiplied: each mesh and each secrets operator on Kubernetes and Helm, for the
    default runtime with every service it supports (so credentials exist). The External Secrets store
    depends on the cloud, so that backend is rendered per cloud; Vault does not."""
    runtime = DEFAULT.runtime
    everything = supported_services(runtime)
    found = []
    for orchestrator in kubernetes_orchestrators():
        for mesh in implemented("service_mesh"):
            if mesh != "none":
                found.append(
                    Variant(runtime, orchestrator, DEFAULT.cloud, everything, (("service_mesh", mesh),))
                )
        for backend in implemented("secrets"):
            if backend == "kubernetes":
                continue
            clouds = implemented("cloud") if backend == "external-secrets" else [DEFAULT.cloud]
            for cloud in clouds:
                found.append(Variant(runtime, orchestrator, cloud, everything, (("secrets", backend),)))
    return found


def edge_variants() -> list[Variant]:
    """Per runtime x orchestrator x cloud: no data services and all of them (for lint and build tiers)."""
    return [
        variant
        for variant in all_variants()
        if variant.data_services in ((), supported_services(variant.runtime))
    ]


def migrates(variant: Variant) -> bool:
    """Whether the variant renders a schema-migration step (its runtime has one and a service needs it)."""
    catalog = load_extension().catalog
    needs = any(catalog.DATA_SERVICES[key]["needs_migration"] for key in variant.data_services)
    return needs and "migrate_command" in catalog.RUNTIMES[variant.runtime]


# The golden path: what `copier copy --defaults` renders.
DEFAULT = Variant(
    questions()["runtime"]["default"],
    questions()["orchestrator"]["default"],
    questions()["cloud"]["default"],
    tuple(json.loads(load_extension().default_services(questions()["runtime"]["default"]))),
)

# Free text that breaks naive quoting in every format: it must parse and round-trip everywhere.
HOSTILE = {
    "project_name": 'Café "Ops": #1 — naïve: 日本 ✓',
    "description": 'Line one: with "quotes" # and a hash\nline two: ${HOME} %{x} \\ back\n- yaml: [flow]',
    # the widest owner reference Backstage accepts: a kind in capitals, '.', '_' and '-' in its name
    "owner": "Group:platform-team/" + "Ops_Team.2-x" * 5 + "abc",
    "project_slug": "a" * load_extension().SLUG_MAX,
}

# Answers that must stop at the prompt, and a fragment of the reason shown.
REFUSED = [
    *(
        {"question": q, "answers": {q: v}, "message": m}
        for q in ("runtime", "orchestrator", "cloud", "service_mesh", "secrets", "ci_provider")
        for v, m in refused(q).items()
    ),
    *(
        {"question": "data_services", "answers": {"data_services": [v]}, "message": m}
        for v, m in refused("data_services").items()
    ),
    # a cloud without virtual-machine infrastructure cannot host a Nomad job or a Swarm stack
    *(
        {"question": "cloud", "answers": {"orchestrator": o, "cloud": v}, "message": m}
        for o in implemented("orchestrator")
        for v, m in refused("cloud", orchestrator=o).items()
        if v in implemented("cloud")
    ),
    # on virtual machines every data service is the cloud's managed one
    *(
        {
            "question": "cloud",
            "answers": {"orchestrator": o, "cloud": v, "data_services": [svc]},
            "message": f"no managed {load_extension().catalog.DATA_SERVICES[svc]['label']} on {v}",
        }
        for o in implemented("orchestrator")
        for svc in implemented("data_services")
        for v in implemented("cloud", orchestrator=o)
        if v != "none"
        and o not in load_extension().catalog.KUBERNETES_ORCHESTRATORS
        and not load_extension().catalog.CLOUDS[v]["services"][svc]["managed"]
    ),
    *(
        {
            "question": "data_services",
            "answers": {"runtime": rt, "data_services": [svc]},
            "message": f"no {load_extension().catalog.DATA_SERVICES[svc]['label']} in the",
        }
        for rt in implemented("runtime")
        for svc in implemented("data_services")
        if svc not in supported_services(rt)
    ),
    # A mesh and a secrets operator run in a Kubernetes cluster: Nomad and Swarm refuse them.
    *(
        {
            "question": question,
            "answers": {"orchestrator": orchestrator, question: value},
            "message": f"{value} needs kubernetes or helm",
        }
        for question, value, orchestrator in [
            ("service_mesh", "istio", "nomad"),
            ("service_mesh", "linkerd", "swarm"),
            ("secrets", "external-secrets", "swarm"),
            ("secrets", "vault", "nomad"),
        ]
    ),
    {"question": "project_slug", "answers": {"project_slug": "My_App"}, "message": "only a-z, 0-9 and '-'"},
    {"question": "project_slug", "answers": {"project_slug": "a" * 59}, "message": "at most 58 characters"},
    {"question": "project_slug", "answers": {"project_slug": "9lives"}, "message": "start with a letter"},
    {"question": "project_slug", "answers": {"project_slug": "-app"}, "message": "start with a letter"},
    {
        "question": "project_slug",
        "answers": {"project_slug": "app-"},
        "message": "end with a letter or digit",
    },
    {"question": "project_name", "answers": {"project_name": ""}, "message": "must not be empty"},
    {"question": "project_name", "answers": {"project_name": "   "}, "message": "must not be empty"},
    {"question": "app_port", "answers": {"app_port": 80}, "message": "1024-65535"},
    {
        "question": "image_registry",
        "answers": {"image_registry": "GHCR.io/Acme"},
        "message": "lowercase host[:port]/path",
    },
    {"question": "owner", "answers": {"owner": ""}, "message": "must not be empty"},
    {"question": "owner", "answers": {"owner": "Platform Team!!"}, "message": "name: 1-63 of"},
    {"question": "owner", "answers": {"owner": "component:default/shop"}, "message": "group or user"},
    {"question": "owner", "answers": {"owner": "group:Default/shop"}, "message": "namespace: a-z"},
    {"question": "owner", "answers": {"owner": "group:a:b"}, "message": "[kind:][namespace/]name"},
]
