"""The variant matrix, as data derived from copier.yml.

A choice is *implemented* when its validator renders empty; the matrix is every combination of the
implemented choices of the questions in AXES, with every subset of the implemented data services.
REFUSED lists answers that must stop at the prompt, with a fragment of the message the user sees.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import jinja2
import yaml

ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = ROOT / "copier.yml"
AXES = ("runtime", "orchestrator", "cloud")


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


def _choice_env() -> jinja2.Environment:
    ext = load_extension()
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.filters.update(ext.FILTERS)
    env.globals["unavailable_error"] = ext.unavailable_error
    return env


@cache
def choices(question: str) -> dict[str, str]:
    """value -> refusal message ("" when implemented), in copier.yml order."""
    env = _choice_env()
    result = {}
    for entry in (
        questions()[question]["choices"].values()
        if isinstance(questions()[question]["choices"], dict)
        else questions()[question]["choices"]
    ):
        if isinstance(entry, dict):
            result[entry["value"]] = env.from_string(entry.get("validator", "")).render().strip()
        else:
            result[str(entry)] = ""
    return result


def implemented(question: str) -> list[str]:
    return [value for value, refusal in choices(question).items() if not refusal]


def refused(question: str) -> dict[str, str]:
    return {value: refusal for value, refusal in choices(question).items() if refusal}


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


def service_subsets() -> list[tuple[str, ...]]:
    services = implemented("data_services")
    return [combo for n in range(len(services) + 1) for combo in itertools.combinations(services, n)]


def all_variants() -> list[Variant]:
    """Every implemented runtime x orchestrator x cloud x data-service subset."""
    return [
        Variant(runtime, orchestrator, cloud, services)
        for runtime in implemented("runtime")
        for orchestrator in implemented("orchestrator")
        for cloud in implemented("cloud")
        for services in service_subsets()
    ]


def edge_variants() -> list[Variant]:
    """Per value of each axis: no data services and all of them (for lint and build tiers)."""
    everything = tuple(implemented("data_services"))
    seen, result = set(), []
    for variant in all_variants():
        if variant.data_services in ((), everything):
            key = (variant.runtime, variant.orchestrator, variant.cloud, variant.data_services)
            if key not in seen:
                seen.add(key)
                result.append(variant)
    return result


DEFAULT = Variant("python", "kubernetes", "none", ("postgres", "redis"))

# Free text that breaks naive quoting in every format: it must parse and round-trip everywhere.
HOSTILE = {
    "project_name": 'Café "Ops": #1 — naïve: 日本 ✓',
    "description": 'Line one: with "quotes" # and a hash\nline two: ${HOME} %{x} \\ back\n- yaml: [flow]',
    "owner": "group:default/plat'form: #team",
    "project_slug": "a" * 63,
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
    {"question": "project_slug", "answers": {"project_slug": "My_App"}, "message": "not a DNS-1123 label"},
    {"question": "project_slug", "answers": {"project_slug": "a" * 64}, "message": "not a DNS-1123 label"},
    {"question": "project_slug", "answers": {"project_slug": "-app"}, "message": "not a DNS-1123 label"},
    {"question": "project_name", "answers": {"project_name": ""}, "message": "must not be empty"},
    {"question": "project_name", "answers": {"project_name": "   "}, "message": "must not be empty"},
    {"question": "app_port", "answers": {"app_port": 80}, "message": "between 1024 and 65535"},
    {
        "question": "image_registry",
        "answers": {"image_registry": "GHCR.io/Acme"},
        "message": "not a valid registry",
    },
    {"question": "owner", "answers": {"owner": ""}, "message": "owner must not be empty"},
]
