"""The one context hook and the quoting filters of cn-template.

`derive(answers)` is a pure function (no subprocess, no network) that turns the answers into every
computed value templates read: slug, image name, ports, env var names, the service list and the
service spec that all orchestrators render. `ContextUpdater` calls it on every render; the filters
make free text safe in YAML, JSON, TOML, HCL, XML, Dockerfiles and shell.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import shlex
import sys
import unicodedata
from pathlib import Path
from typing import Any

from copier_template_extensions import ContextHook
from jinja2.ext import Extension


def _load_sibling(filename: str):
    """A module next to this file (Copier loads this file by path, so sibling imports do not work).
    Keyed by path: `copier update` loads the old and the new release in one process, and each must
    see its own modules."""
    path = Path(__file__).with_name(filename).resolve()
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    name = f"cn_template_{filename.removesuffix('.py')}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


catalog = _load_sibling("catalog.py")


def lock_renderer(runtime: str):
    """The module (next to this file, named by the runtime's row) that cuts the runtime's manifests
    and lockfiles from its lock data: its render(row, parts, slug, version) is the `lock` context."""
    return _load_sibling(catalog.RUNTIMES[runtime]["lock_renderer"])


# project_slug names Kubernetes objects: a Service's name is a DNS-1035 label (it starts with a letter),
# and the prod overlay's namespace, <slug>-prod, must still fit a label's 63 characters.
SLUG_MAX = 63 - len("-prod")
SLUG = re.compile(rf"^[a-z]([-a-z0-9]{{0,{SLUG_MAX - 2}}}[a-z0-9])?$")
MAX_NAME_LENGTH = 100


# --- validation (used by copier.yml validators; returns "" when the value is fine) ---------------


# Copier shows a typed answer's error on one line, after "Validation error for question '<name>': ",
# and cuts it at the terminal's width: each message fits 80 columns with that prefix (test_render
# holds every message to it), and the question's help carries the full rule.
PROMPT_WIDTH = 80


def name_error(value: Any) -> str:
    text = str(value)
    if not text.strip():
        return "must not be empty"
    if len(text) > MAX_NAME_LENGTH:
        return f"at most {MAX_NAME_LENGTH} characters"
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        return "one line, without control characters"
    if not dns_label(text):
        return "needs a letter (it seeds the slug)"
    return ""


def slug_error(value: Any) -> str:
    text = str(value)
    if SLUG.match(text):
        return ""
    if not text:
        return "must not be empty"
    if len(text) > SLUG_MAX:
        return f"at most {SLUG_MAX} characters"
    if not re.fullmatch(r"[-a-z0-9]+", text):
        return "only a-z, 0-9 and '-'"
    if not text[0].isalpha():
        return "must start with a letter"
    return "must end with a letter or digit"


def port_error(value: Any) -> str:
    try:
        port = int(value)
    except (TypeError, ValueError):
        return "must be a number"
    if not 1024 <= port <= 65535:
        return "1024-65535: the app runs as non-root"
    return ""


def registry_error(value: Any) -> str:
    text = str(value)
    if not re.fullmatch(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]+)?(/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*", text):
        return "lowercase host[:port]/path"
    return ""


# Backstage entity references, `[<kind>:][<namespace>/]<name>` (ADR009), with the catalog's own rules
# for each part: a namespace is a DNS label, a name is 1-63 of [a-zA-Z0-9] separated by one of -_.;
# an owner is a Group or a User. tests/backstage checks rendered catalogs with @backstage/catalog-model.
OWNER_KINDS = ("group", "user")
ENTITY_NAME_MAX = 63
ENTITY_NAMESPACE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
ENTITY_NAME = re.compile(r"[a-zA-Z0-9]+([-_.][a-zA-Z0-9]+)*")


def owner_error(value: Any) -> str:
    text = str(value)
    if not text.strip():
        return "must not be empty"
    kind, _, rest = text.rpartition(":") if ":" in text else ("", "", text)
    namespace, _, name = rest.rpartition("/")
    if ":" in kind or "/" in namespace:
        return "use [kind:][namespace/]name"
    if kind and kind.lower() not in OWNER_KINDS:
        return "the kind of an owner is group or user"
    if "/" in rest and not (len(namespace) <= ENTITY_NAME_MAX and ENTITY_NAMESPACE.fullmatch(namespace)):
        return "namespace: a-z, 0-9 and '-', up to 63"
    if not (len(name) <= ENTITY_NAME_MAX and ENTITY_NAME.fullmatch(name)):
        return "name: 1-63 of a-zA-Z0-9 and -_. between"
    return ""


def unavailable_error(kind: str, value: Any) -> str:
    """The reason a choice cannot be rendered yet, or "" when it can."""
    table = {
        "runtime": catalog.RUNTIMES,
        "data_services": catalog.DATA_SERVICES,
        "orchestrator": catalog.ORCHESTRATORS,
        "cloud": catalog.CLOUDS,
    }[kind]
    entry = table.get(str(value))
    if entry is None:
        return f"unknown {kind} {value!r}"
    if entry.get("available"):
        return ""
    return "not available yet: " + entry["unavailable_reason"]


def cloud_error(value: Any, orchestrator: Any, data_services: Any = ()) -> str:
    """Why the cloud cannot go with the orchestrator and data services, or "" when it can: Nomad and
    Swarm need the cloud's virtual-machine infrastructure, and there every data service must be the
    cloud's managed offering (the template runs no data service inside a Nomad or Swarm cluster)."""
    reason = unavailable_error("cloud", value)
    if reason or on_kubernetes(orchestrator) or str(value) == "none":
        return reason
    cloud = catalog.CLOUDS[str(value)]
    if "vms" not in cloud["terraform"]:
        return f"no {orchestrator} VMs on {value} yet: aws or none"
    for key in data_services or ():
        if not cloud["services"][key]["managed"]:
            return f"no managed {catalog.DATA_SERVICES[key]['label']} on {value} for {orchestrator}"
    return ""


def on_kubernetes(orchestrator: Any) -> bool:
    """Whether the orchestrator deploys to a Kubernetes cluster (the questions only a cluster has)."""
    return str(orchestrator) in catalog.KUBERNETES_ORCHESTRATORS


def kubernetes_only_error(question: str, value: Any, orchestrator: Any) -> str:
    """Why a service mesh or secrets backend cannot go with the orchestrator, or "" when it can."""
    table = {"service_mesh": catalog.MESHES, "secrets": catalog.SECRET_BACKENDS}[question]
    entry = table.get(str(value))
    if entry is None:
        return f"unknown {question} {value!r}"
    if entry["needs_kubernetes"] and not on_kubernetes(orchestrator):
        return f"{value} needs {' or '.join(catalog.KUBERNETES_ORCHESTRATORS)}"
    return ""


def default_services(runtime: Any) -> str:
    """The golden-path data services (catalog.DEFAULT_DATA_SERVICES) the runtime supports, as a YAML list."""
    entry = catalog.RUNTIMES.get(str(runtime), {})
    return json.dumps(
        [
            key
            for key in catalog.DEFAULT_DATA_SERVICES
            if key in entry.get("services", catalog.DEFAULT_DATA_SERVICES)
        ]
    )


def services_error(runtime: Any, services: Any) -> str:
    """Why the runtime's app cannot use some chosen data services, or "" when it can use them all."""
    entry = catalog.RUNTIMES.get(str(runtime))
    if entry is None:
        return ""
    missing = [key for key in services or [] if key not in entry.get("services", ())]
    if not missing:
        return ""
    labels = ", ".join(catalog.DATA_SERVICES[key]["label"] for key in missing)
    return f"no {labels} in the {entry['label']} app yet"


# --- quoting filters ------------------------------------------------------------------------------


def json_str(value: Any) -> str:
    """A JSON string literal; also a valid Python, Go, Java and JavaScript string literal."""
    return (
        json.dumps(str(value), ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def yaml_str(value: Any) -> str:
    """A YAML double-quoted scalar that round-trips the exact text (newlines, '#', ':', quotes, unicode)."""
    encoded = json.dumps(str(value), ensure_ascii=False)
    return "".join(
        ch if not unicodedata.category(ch).startswith(("C", "Z")) or ch == " " else f"\\u{ord(ch):04x}"
        for ch in encoded
    )


def toml_str(value: Any) -> str:
    """A TOML basic string."""
    return yaml_str(value).replace("\x7f", "\\u007f")


def hcl_str(value: Any) -> str:
    """An HCL quoted string: JSON escapes plus `$${` and `%%{` so text never becomes a template."""
    return yaml_str(value).replace("${", "$${").replace("%{", "%%{")


def xml_text(value: Any) -> str:
    """Text safe inside an XML element or attribute."""
    text = str(value)
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&apos;")):
        text = text.replace(raw, escaped)
    return "".join(ch if ch in "\n\t" or not unicodedata.category(ch).startswith("C") else " " for ch in text)


def sh_quote(value: Any) -> str:
    """A single shell word."""
    return shlex.quote(str(value))


def one_line(value: Any) -> str:
    """Collapse whitespace (newlines included) to single spaces: for comments, labels and titles."""
    return " ".join(str(value).split())


def dockerfile_str(value: Any) -> str:
    """A double-quoted Dockerfile LABEL/ENV value on one line; `$` never expands."""
    text = one_line(value).replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return f'"{text}"'


def dns_label(value: Any) -> str:
    """A valid project_slug derived from free text: 'My App!' -> 'my-app', '1Password' -> 'password'
    (lowercase, a letter first, at most SLUG_MAX characters)."""
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "-", text)
    text = re.sub(r"^[^a-z]+", "", text).strip("-")
    return text[:SLUG_MAX].rstrip("-")


FILTERS = {
    "json_str": json_str,
    "yaml_str": yaml_str,
    "toml_str": toml_str,
    "hcl_str": hcl_str,
    "xml_text": xml_text,
    "sh_quote": sh_quote,
    "one_line": one_line,
    "dockerfile_str": dockerfile_str,
    "dns_label": dns_label,
    "name_error": name_error,
    "slug_error": slug_error,
    "port_error": port_error,
    "registry_error": registry_error,
    "owner_error": owner_error,
}
# The functions copier.yml's defaults, validators and `when:` conditions call.
GLOBALS = {
    "unavailable_error": unavailable_error,
    "services_error": services_error,
    "default_services": default_services,
    "kubernetes_only_error": kubernetes_only_error,
    "on_kubernetes": on_kubernetes,
    "cloud_error": cloud_error,
}


# --- derivation -----------------------------------------------------------------------------------


def _curl(request: dict, port: int) -> str:
    """The curl command a developer types for a data service's first request, against `make run`."""
    words = ["curl"]
    if request["method"] != "GET":
        words += ["-X", request["method"]]
    if "body" in request:
        words += ["-H", "'Content-Type: application/json'", "-d", shlex.quote(json.dumps(request["body"]))]
    return " ".join([*words, f"localhost:{port}{request['path']}"])


def _service(key: str, slug: str, cloud_key: str) -> dict:
    entry = dict(catalog.DATA_SERVICES[key])
    entry["key"] = key
    entry["host"] = key  # compose service name and in-cluster Service name of the dev instance
    url, var = entry["url"].replace("{port}", str(entry["port"])), entry["password_var"]
    compose_password = f"${{{var}:-app}}" if var else ""
    # Its setting is a credential (kept in the Secret) when it carries a password: the service's own
    # (compose's, the dev Secret's), or in the cloud an AUTH token the managed offering wants that the
    # app's own URL does not carry: its production URL then holds it. Development instances keep their
    # password-less URL.
    offer = catalog.CLOUDS[cloud_key].get("services", {}).get(key, {})
    cloud_auth = not var and offer.get("auth") == "password" and "cloud_url" in entry
    entry["secret"] = bool(var) or cloud_auth
    # Local and in-cluster development instances speak plain TCP; production requires TLS.
    entry["local_url"] = url.format(host="localhost", password="app", tls="disable")
    compose_url = url.format(host=key, password=compose_password, tls="disable")
    entry["compose_url"] = entry.get("compose_url") or compose_url
    entry["dev_url"] = url.format(host=key, password=DEV_PASSWORD, tls="disable")
    entry["prod_url"] = (
        entry["cloud_url"].format(host=f"{key}.example.internal", password="CHANGE-ME")
        if cloud_auth
        else url.format(host=f"{key}.example.internal", password="CHANGE-ME", tls="require")
    )
    # A setting where nothing listens (port 1): the apps' own tests start without the service.
    entry["unreachable_url"] = entry["url"].format(host="127.0.0.1", port=1, password="secret", tls="disable")
    entry["container_env"] = {
        name: value.format(password=compose_password) for name, value in entry["container_env"].items()
    }
    # The dev instance reads its password from the dev Secret, under the same name compose uses.
    dev_env = [{"name": name, "value": value} for name, value in entry["dev"]["env"].items()]
    dev_env += [
        {"name": name, "secret_key": var}
        for name, value in catalog.DATA_SERVICES[key]["container_env"].items()
        if value == "{password}"
    ]
    dev_env += [
        {"name": name, "value": value}
        for name, value in catalog.DATA_SERVICES[key]["container_env"].items()
        if value != "{password}" and name not in entry["dev"]["env"] and entry["dev"]["inherit_container_env"]
    ]
    entry["dev"] = {**entry["dev"], "env": sorted(dev_env, key=lambda item: item["name"])}
    # Its Backstage Resource: <slug>-<key>, the slug cut to fit a catalog name's 63 characters.
    entry["catalog_name"] = f"{slug[: ENTITY_NAME_MAX - len(key) - 1].rstrip('-')}-{key}"
    return entry


DEV_PASSWORD = "dev-only-password"


def infra_name(slug: str) -> str:
    """The Terraform resource-name prefix: the slug cut to INFRA_NAME_MAX, starting with a letter, >= 3."""
    name = slug if slug[:1].isalpha() else f"app-{slug}"
    name = name[: catalog.INFRA_NAME_MAX].rstrip("-")
    return name if len(name) >= 3 else f"{name}-app"


def _infra(answers: dict, services: list[dict]) -> dict:
    """What infra/terraform/ reads: the cloud's facts and, per chosen service, its offering there."""
    cloud = catalog.CLOUDS[answers["cloud"]]
    if "terraform" not in cloud:
        return {
            "name": infra_name(answers["project_slug"]),
            "tf": {},
            "providers": [],
            "services": [],
            "external_secrets": [],
            "url_secrets": {},
            "secret_store_output": False,
            "url_reader": None,
            "compute": None,
            "vms": None,
            "enforcement": [],
        }
    offered = []
    for svc in services:
        offer = cloud["services"][svc["key"]]
        # credential: Terraform generates the service's password and keeps it in the cloud's store
        offered.append({**svc, **offer, "credential": offer["auth"] == "password"})
    # On virtual machines (Nomad, Swarm) or with the External Secrets Operator, Terraform writes each
    # credential-carrying setting whole (the URL with its password) under the name the deploy step
    # or the ExternalSecret reads, and lets the app's identity read exactly those entries.
    kubernetes = on_kubernetes(answers["orchestrator"])
    operator = str(answers.get("secrets") or "kubernetes") == "external-secrets"
    external = operator or not kubernetes
    slug = answers["project_slug"]
    external_secrets = [
        {"key": svc["key"], "env": svc["env"], "name": remote_key(slug, svc["env"])}
        for svc in services
        if external and svc["secret"] and cloud["services"][svc["key"]]["auth"] == "password"
    ]
    enforcement = [
        {"control": label, "by": common or cloud["terraform"]["enforcement"][key]}
        for key, (label, common) in catalog.CLUSTER_CONTROLS.items()
        if kubernetes
    ]
    vms = None
    if not kubernetes:
        facts = catalog.ORCHESTRATORS[answers["orchestrator"]]["vms"]
        vms = {
            # (a cloud without VMs is refused at the prompt: cloud_error)
            **cloud["terraform"].get("vms", {}),
            **facts,
            "key": answers["orchestrator"],
            "app_port": int(answers["app_port"]),
            # the group names' width, aligned as terraform fmt does
            "width": max(len(facts["control"]), len(facts["workers"])),
        }
    needed = {name for svc in offered for name in svc.get("needs", [])} | set(
        vms.get("needs", []) if vms else []
    )
    providers = [p for p in cloud["terraform"]["providers"] if not p.get("optional") or p["name"] in needed]
    return {
        "name": infra_name(answers["project_slug"]),
        "tf": cloud["terraform"],
        "providers": providers,
        "services": offered,
        "external_secrets": external_secrets,
        # The same, by service: each service's .tf reads its own (absent: the app reads the password).
        "url_secrets": {entry["key"]: entry for entry in external_secrets},
        # the External Secrets SecretStore's deployment-specific fields, as an output
        "secret_store_output": bool(external_secrets) and operator,
        "url_reader": "the External Secrets Operator" if operator else "the deploy step",
        "compute": "kubernetes" if kubernetes else "vms",
        "vms": vms,
        "enforcement": enforcement,
        "terraform_version": catalog.TERRAFORM_VERSION,
    }


def _ci(answers: dict) -> dict:
    """The CI system's facts; its `oidc` is whom infra/terraform/ trusts (GitHub's when there is no CI)."""
    key = str(answers.get("ci_provider") or "github")
    entry = dict(catalog.CI_PROVIDERS[key])
    entry["key"] = key
    oidc = entry["oidc"] or catalog.CI_PROVIDERS["github"]["oidc"]
    # GCP's Workload Identity Federation maps the token's claims to attributes it can check.
    mapping = {"google.subject": "assertion.sub", f"attribute.{oidc['claim']}": f"assertion.{oidc['claim']}"}
    mapping["attribute.ref"] = "assertion.ref"
    entry["oidc"] = {
        **oidc,
        "issuer_host": oidc["issuer"].removeprefix("https://"),
        "attribute_mapping": mapping,
        "attribute_width": max(len(key) + 2 for key in mapping),  # quoted keys, aligned as terraform fmt
    }
    # `uses:` of each GitHub Action: its pinned commit, the release named in a comment
    entry["actions"] = {name: f"{name}@{sha}  # {tag}" for name, (sha, tag) in catalog.GITHUB_ACTIONS.items()}
    return entry


HELM_RELEASE_MAX = 53
"""Helm refuses longer release names (it appends suffixes to them)."""


def _orchestrator(key: str, slug: str) -> dict:
    entry = dict(catalog.ORCHESTRATORS[key])
    entry["key"] = key
    # The release name the docs suggest for the Helm chart (the slug, cut to Helm's limit).
    entry["release"] = slug[:HELM_RELEASE_MAX].rstrip("-")
    manifests = entry["manifests"]
    command = manifests["command"].format(slug=slug, release=entry["release"])
    entry["manifests"] = {**manifests, "command": command}
    return entry


def _mesh(answers: dict) -> dict:
    """The service mesh the app's pods join ("none": no mesh), with what each layer renders for it."""
    key = str(answers.get("service_mesh") or "none")
    entry = {
        "pod_labels": {},
        "pod_annotations": {},
        "test_pod_annotations": {},
        "ingress": [],
        "egress": [],
        "metrics": {},
    }
    entry.update(catalog.MESHES[key])
    # Kustomize's overlays accept mutual TLS only (Helm makes it a value: mesh.strictMtls).
    entry["pod_annotations"] = {**entry["pod_annotations"], **entry.get("strict_pod_annotations", {})}
    entry["key"] = key
    entry["enabled"] = key != "none"
    return entry


def remote_key(slug: str, env: str) -> str:
    """Name of a credential's entry in the secret store: '<slug>-database-url'. Letters, digits and '-'
    only, so the same name is valid in AWS Secrets Manager, Secret Manager and Azure Key Vault."""
    return f"{slug}-{env.lower().replace('_', '-')}"


def _external_secret_store(cloud: str, slug: str) -> dict:
    """The store an ExternalSecret reads from: kind, name, and (when the project renders it) the
    provider block of a SecretStore authenticated as the app's ServiceAccount."""
    store = dict(catalog.SECRET_BACKENDS["external-secrets"]["stores"][cloud])
    store.setdefault("name", slug)
    identity = {"serviceAccountRef": {"name": slug}}
    providers = {
        "aws": {
            "aws": {
                "service": "SecretsManager",
                "region": catalog.CLOUDS["aws"]["terraform"]["region"]["default"],
                "auth": {"jwt": identity},
            }
        },
        "gcp": {"gcpsm": {"projectID": "CHANGE-ME", "auth": {"workloadIdentity": identity}}},
        "azure": {
            "azurekv": {
                "vaultUrl": "https://CHANGE-ME.vault.azure.net",
                "authType": "WorkloadIdentity",
                **identity,
            }
        },
    }
    store["create"] = cloud in providers
    store["provider"] = providers.get(cloud, {})
    # Provider fields that depend on the deployment: infra/terraform's `secret_store` output has
    # one key per field, with the same name (the region is the variable's default until then).
    store["output"] = "secret_store"
    store["from_output"] = {"aws": ["region"], "gcp": ["projectID"], "azure": ["vaultUrl"]}.get(cloud, [])
    return store


def _secrets(answers: dict, slug: str, secret_services: list[dict]) -> dict:
    """Where the `<slug>-secrets` Secret comes from in production. An operator-backed backend renders
    its resources only when some setting is a credential (`component` is then the backend's key).
    `store` and `vault` are always there: the Helm chart's values carry both, to switch later."""
    key = str(answers.get("secrets") or "kubernetes")
    entry = {k: v for k, v in catalog.SECRET_BACKENDS[key].items() if k != "stores"}
    vault = catalog.SECRET_BACKENDS["vault"]
    entry.update(
        {
            "key": key,
            "secret_name": f"{slug}-secrets",
            "component": key if key != "kubernetes" and secret_services else "",
            "remote_keys": {svc["env"]: remote_key(slug, svc["env"]) for svc in secret_services},
            "refresh": catalog.SECRETS_REFRESH,
            "store": _external_secret_store(str(answers["cloud"]), slug),
            "vault": {
                "api_version": vault["api_version"],
                "address": vault["address"],
                "auth_mount": vault["auth_mount"],
                "kv_mount": vault["kv_mount"],
                "role": slug,
                "path": slug,
            },
        }
    )
    return entry


# --- the service spec: what every orchestrator renders for the app ----------------------------------


def cpu_millicores(quantity: str) -> int:
    """A Kubernetes CPU quantity in millicores: '100m' -> 100, '1.5' -> 1500."""
    text = str(quantity)
    if text.endswith("m"):
        return int(text[:-1])
    return round(float(text) * 1000)


def memory_mib(quantity: str) -> int:
    """A Kubernetes memory quantity in MiB: '128Mi' -> 128, '1Gi' -> 1024."""
    text = str(quantity)
    for suffix, factor in (("Mi", 1), ("Gi", 1024)):
        if text.endswith(suffix):
            return int(text[: -len(suffix)]) * factor
    raise ValueError(f"memory quantity {text!r} must be in Mi or Gi")


def _cpus(millicores: int) -> str:
    """Millicores as Docker's decimal `cpus` ('0.1')."""
    return f"{millicores / 1000:g}"


def service_spec(
    answers: dict, rt: dict, services: list[dict], image_repository: str, env: list[str]
) -> dict:
    """The one description of the app that compose, Kubernetes, Helm, Nomad and Swarm all render."""
    port = int(answers["app_port"])
    slug = answers["project_slug"]
    names = catalog.APP_ENV
    # Production-like settings: the app's own variables, then the data services reached without
    # credentials; services whose URL carries a password are secrets, never config.
    config = {
        names["port"]: str(port),
        names["log_level"]: "info",
        names["service_name"]: slug,
        names["service_version"]: catalog.INITIAL_VERSION,
        names["ready_timeout"]: str(catalog.READY_TIMEOUT_SECONDS),
    }
    config.update({svc["env"]: svc["prod_url"] for svc in services if not svc["secret"]})
    if answers.get("observability"):
        obs = catalog.OBSERVABILITY
        # The in-cluster collector's Service name means nothing to Nomad or Swarm: point them at a
        # placeholder host to replace, like the data services' endpoints.
        in_cluster = answers["orchestrator"] in {"kubernetes", "helm"}
        endpoint = f"http://otel-collector.example.internal:{obs['otlp_port']}"
        config[obs["otlp_env"]] = obs["cluster_endpoint"] if in_cluster else endpoint
    resources = rt.get("resources", catalog.RESOURCES)
    millicores = {part: cpu_millicores(q["cpu"]) for part, q in resources.items()}
    mib = {part: memory_mib(q["memory"]) for part, q in resources.items()}
    workers = -(-millicores["limits"] // 1000)
    healthcheck = None
    if rt.get("healthcheck"):
        healthcheck = [
            arg.format(port_env=names["port"], path=catalog.HEALTH_PATH, package=java_package(slug))
            for arg in rt["healthcheck"]
        ]
    return {
        "image": f"{image_repository}:{catalog.INITIAL_VERSION}",
        "image_repository": image_repository,
        "image_tag": catalog.INITIAL_VERSION,
        "port": port,
        "env": env,
        "config": config,
        "secret_env": [svc["env"] for svc in services if svc["secret"]],
        "data_services": [svc["key"] for svc in services],
        "health_path": catalog.HEALTH_PATH,
        "ready_path": catalog.READY_PATH,
        "metrics_path": catalog.METRICS_PATH,
        "probes": catalog.PROBES,
        "healthcheck": healthcheck,
        "resources": resources,
        "millicores": millicores,
        "memory_mib": mib,
        "nomad_resources": {
            "cpu": millicores["requests"] * catalog.NOMAD_MHZ_PER_CORE // 1000,
            "memory": mib["requests"],
            "memory_max": mib["limits"],
        },
        "swarm_resources": {
            "reservations": {"cpus": _cpus(millicores["requests"]), "memory": f"{mib['requests']}M"},
            "limits": {"cpus": _cpus(millicores["limits"]), "memory": f"{mib['limits']}M"},
        },
        "uid": catalog.APP_UID,
        "tmp_dirs": rt["tmp_dirs"],
        "tmpfs_mib": catalog.TMPFS_SIZE_MIB,
        "scaling": catalog.SCALING,
        "secret_files": bool(rt.get("secret_files")),
        # Where the runtime's app runs several server processes: how many, read by Kubernetes from
        # the CPU limit itself (a resourceFieldRef, in whole cores rounded up).
        "workers_env": rt.get("workers_env"),
        # Every variable that is not a credential, as Nomad and Swarm set it: config, and the same
        # worker count computed here from the CPU limit they are given.
        "plain_env": {**config, **({rt["workers_env"]: str(workers)} if rt.get("workers_env") else {})},
    }


JAVA_PACKAGE_MAX = 40
"""Letters and digits of the slug the Java package keeps: a qualified name in the sources (the
migration step's call) stays within google-java-format's 100 columns, as formatted files must."""


def java_package(slug: str) -> str:
    """The Java app's package: `com.example.` and the slug's letters and digits (at most
    JAVA_PACKAGE_MAX)."""
    name = re.sub(r"[^a-z0-9]", "", slug) or "app"
    return f"com.example.{('app' + name if name[0].isdigit() else name)[:JAVA_PACKAGE_MAX]}"


def derive(answers: dict) -> dict:
    """Every computed value, from the answers alone. Pure: same answers, same result."""
    slug = answers["project_slug"]
    runtime = answers["runtime"]
    chosen = answers.get("data_services") or []
    services = [_service(key, slug, answers["cloud"]) for key in catalog.DATA_SERVICES if key in chosen]
    for svc in services:
        svc["curl"] = _curl(svc["try"], answers["app_port"])
    rt = dict(catalog.RUNTIMES[runtime])
    image_repository = f"{answers['image_registry']}/{slug}"
    app_env = dict(catalog.APP_ENV)
    env_names = list(app_env.values()) + [svc["env"] for svc in services]
    if rt.get("workers_env"):
        env_names.append(rt["workers_env"])
    if answers.get("observability"):
        env_names.append(catalog.OBSERVABILITY["otlp_env"])
    observability = bool(answers.get("observability"))
    # The parts a runtime's dependencies are locked by: base (implied), each service, observability.
    parts = [svc["key"] for svc in services] + (["observability"] if observability else [])
    migrating = [svc for svc in services if svc["needs_migration"]]
    migration = None
    if migrating and "migrate_command" in rt:
        migration = {
            "command": rt["migrate_command"],
            "local": rt["commands"]["migrate"],
            "services": migrating,
        }
    spec = service_spec(answers, rt, services, image_repository, env_names)
    java_dependencies = [artifact for svc in services for artifact in rt.get("maven", {}).get(svc["key"], [])]
    return {
        "slug": slug,
        "rt": rt,
        "runtime_version": rt["version"],
        "app_uid": catalog.APP_UID,
        "app_env": app_env,
        "ready_timeout_seconds": catalog.READY_TIMEOUT_SECONDS,
        "services": services,
        "service_env": {key: entry["env"] for key, entry in catalog.DATA_SERVICES.items()},
        "secret_services": [svc for svc in services if svc["secret"]],
        "json_bodies": any(svc["json_body"] for svc in services),
        # Derived facts about the chosen services, for the files they add or shape:
        # a setting that lists host:port addresses; a message broker (the app's event log).
        "address_settings": any(svc["setting"] == "addresses" for svc in services),
        "event_broker": any(svc["resource_type"] == "message-broker" for svc in services),
        "dev_password": DEV_PASSWORD,
        "migration": migration,
        # The variables the migration step reads: those of the services with a schema.
        "migration_env": [svc["env"] for svc in migrating],
        "obs": catalog.OBSERVABILITY,
        "config_env": list(app_env.values()) + ([catalog.OBSERVABILITY["otlp_env"]] if observability else []),
        "image_repository": image_repository,
        "initial_version": catalog.INITIAL_VERSION,
        "registry_host": answers["image_registry"].split("/")[0],
        "service_spec": spec,
        "orchestrator_info": _orchestrator(answers["orchestrator"], slug),
        "mesh": _mesh(answers),
        # Every mesh's needs, for the Helm chart (its mesh.provider is a value, chosen at install).
        "meshes": {key: entry for key, entry in catalog.MESHES.items() if key != "none"},
        "secrets_info": _secrets(answers, slug, [svc for svc in services if svc["secret"]]),
        "cloud_info": catalog.CLOUDS[answers["cloud"]],
        "infra": _infra(answers, services),
        "ci": _ci(answers),
        "copier_version": catalog.COPIER_VERSION,
        # The runtime's manifests and lockfiles, cut from its lock data (its row's lock_renderer).
        "lock": lock_renderer(runtime).render(rt, parts, slug, catalog.INITIAL_VERSION),
        "go_module": f"example.com/{slug}",
        "java_dependencies": java_dependencies,
        # The artifacts Spring Boot's BOM does not manage: their versions are pinned in pom.xml.
        "java_unmanaged": [artifact["artifact"] for artifact in java_dependencies if "version" in artifact],
        "java_health": {svc["key"]: rt["health_contributors"][svc["key"]] for svc in services}
        if "health_contributors" in rt
        else {},
        "java_package": java_package(slug),
        "java_package_path": java_package(slug).replace(".", "/"),
    }


REQUIRED = ("project_slug", "runtime", "orchestrator", "cloud", "app_port", "image_registry")
# Every answer derive() reads (a unit test holds it to that): its result is remembered per values.
DERIVE_INPUTS = REQUIRED + ("data_services", "observability", "service_mesh", "secrets", "ci_provider")
_derived: dict[str, dict] = {}


def derive_cached(answers: dict) -> dict:
    """derive(answers), computed once per distinct set of inputs: Copier calls the hook for every
    file and path it renders (hundreds per project), with the same answers. Templates only read it."""
    key = json.dumps([answers.get(name) for name in DERIVE_INPUTS], default=str)
    if key not in _derived:
        _derived[key] = derive(answers)
    return _derived[key]


class ContextUpdater(ContextHook):
    """Adds `derive(answers)` to the render context once every answer it needs is known."""

    def hook(self, context: dict) -> None:
        if all(key in context for key in REQUIRED):
            context.update(derive_cached(context))


def cache_compiles(environment) -> None:
    """Compile each distinct template source once per environment. Copier compiles every part of
    every path in the template as a template of its own, once per file (~870 compiles in a default
    render, a third of its time), and the same strings recur: a conditional folder's name once per
    file under it. The compiled code is reused; each render still gets a fresh Template."""
    compile_once = environment.compile
    compiled: dict[tuple, Any] = {}

    def compile(source, name=None, filename=None, raw=False, defer_init=False):  # noqa: A001
        if not isinstance(source, str):  # an already parsed template: nothing to key on
            return compile_once(source, name, filename, raw, defer_init)
        key = (source, name, filename, raw, defer_init)
        if key not in compiled:
            compiled[key] = compile_once(source, name, filename, raw, defer_init)
        return compiled[key]

    environment.compile = compile


class Filters(Extension):
    """Registers the quoting and validation filters (and caches compiled sources: cache_compiles)."""

    def __init__(self, environment):
        super().__init__(environment)
        cache_compiles(environment)
        environment.filters.update(FILTERS)
        environment.globals.update(GLOBALS)
