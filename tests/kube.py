"""Kubernetes renderings checked without a server (the apiserver tier, tests/test_apiserver.py, puts
every one through a real API server as well). Each check returns what is wrong; an empty list is a pass.

- `validate_manifests(docs, minor, tmp_path)`: kubernetes-validate --strict, the OpenAPI schemas of the
  chosen Kubernetes version, on the core objects (`core_objects`).
- `violations(docs)`: Pod Security "restricted" as Kubernetes itself evaluates it, plus our own bar.
  - `pod_security(docs)`: the upstream evaluator, k8s.io/pod-security-admission (the code the API
    server's admission plugin runs), through the small Go program in tests/psa, at the version the
    rendered Namespace's `pod-security.kubernetes.io/enforce-version` label names ("latest" without one).
  - `our_bar(docs)`: what "restricted" does not ask and this template does, named as ours: a read-only
    root filesystem, CPU and memory requests and limits, a readiness probe on long-running containers.
- `dangling_references(docs)` (ours): a custom resource naming an object of the release that is not there.
- `vault_crd_problems(docs)` (ours): the Vault Secrets Operator's resources by structure. Its CRDs cannot
  be installed into the test API server: the operator is BUSL-licensed and the Go module proxy does not
  serve its module, so this is the closest honest check for those three kinds (README, Tests).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from support import tools

# API groups of the custom resources the template renders (kubernetes-validate knows none of them).
CUSTOM_GROUPS = (
    "monitoring.coreos.com/",
    "security.istio.io/",
    "external-secrets.io/",
    "secrets.hashicorp.com/",
)
VAULT_GROUP = "secrets.hashicorp.com/"

POD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
LONG_RUNNING = {"Deployment", "StatefulSet", "DaemonSet"}
VERSION_LABEL = "pod-security.kubernetes.io/enforce-version"


def violations(docs: list[dict], *, long_running_probes: bool = True) -> list[str]:
    return pod_security(docs) + our_bar(docs, long_running_probes=long_running_probes)


def pod_security(docs: list[dict], level: str = "restricted") -> list[str]:
    """Breaches of the Pod Security Standard `level`, from the upstream evaluator."""
    versions = {
        doc["metadata"].get("labels", {}).get(VERSION_LABEL) for doc in docs if doc.get("kind") == "Namespace"
    } - {None}
    assert len(versions) <= 1, f"namespaces enforce different versions: {versions}"
    version = versions.pop() if versions else "latest"
    proc = subprocess.run(
        [str(tools.psa()), level, version],
        input=json.dumps([doc for doc in docs if doc.get("kind") in POD_KINDS]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def pod_spec(doc: dict) -> dict | None:
    kind = doc.get("kind")
    if kind not in POD_KINDS:
        return None
    if kind == "Pod":
        return doc["spec"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def our_bar(docs: list[dict], *, long_running_probes: bool = True) -> list[str]:
    """This template's own bar beyond "restricted"."""
    found = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        inits = spec.get("initContainers", [])
        for container in inits + spec.get("containers", []):
            cwhere = f"{where}/{container['name']}"
            if container.get("securityContext", {}).get("readOnlyRootFilesystem") is not True:
                found.append(f"{cwhere}: readOnlyRootFilesystem must be true (ours)")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(part, {})):
                    found.append(f"{cwhere}: resources.{part} must set cpu and memory (ours)")
            long_running = doc["kind"] in LONG_RUNNING and container not in inits
            if long_running_probes and long_running and "readinessProbe" not in container:
                found.append(f"{cwhere}: readinessProbe missing (ours)")
    return found


def is_custom(doc: dict) -> bool:
    return str(doc.get("apiVersion", "")).startswith(CUSTOM_GROUPS)


def core_objects(docs: list[dict]) -> list[dict]:
    return [doc for doc in docs if not is_custom(doc)]


def validate_manifests(docs: list[dict], minor: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """kubernetes-validate --strict on the core objects, against Kubernetes `minor` ("1.33")."""
    manifest = tmp_path / "manifests.yaml"
    manifest.write_text(yaml.safe_dump_all(core_objects(docs)))
    return subprocess.run(
        [tools.venv_tool("kubernetes-validate"), "--strict", "-k", f"{minor}.0", str(manifest)],
        capture_output=True,
        text=True,
        check=False,
    )


# Kind -> (path to the name it references, kind it names), checked when the referenced object is one
# this release creates (a ClusterSecretStore, say, belongs to the platform).
REFERENCES = {
    "ExternalSecret": (("spec", "secretStoreRef", "name"), "SecretStore"),
    "VaultAuth": (("spec", "vaultConnectionRef"), "VaultConnection"),
    "VaultStaticSecret": (("spec", "vaultAuthRef"), "VaultAuth"),
}


def _get(doc: dict, path: tuple[str, ...]):
    node = doc
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def dangling_references(docs: list[dict]) -> list[str]:
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    found = []
    for doc in docs:
        if doc["kind"] not in REFERENCES:
            continue
        path, target = REFERENCES[doc["kind"]]
        if doc["kind"] == "ExternalSecret" and _get(doc, ("spec", "secretStoreRef", "kind")) != target:
            continue
        if (target, _get(doc, path)) not in names:
            found.append(
                f"{doc['kind']}/{doc['metadata']['name']}: {'.'.join(path)} names no {target} of this release"
            )
    return found


# The Vault Secrets Operator's kinds (secrets.hashicorp.com/v1beta1), from its API reference:
# kind -> {"required": paths, "spec": allowed spec keys, "enums": {path: allowed values}}.
VAULT_KINDS: dict[str, dict] = {
    "VaultConnection": {
        "required": [("spec", "address")],
        "spec": {"address", "headers", "tlsServerName", "caCertSecretRef", "skipTLSVerify", "timeout"},
    },
    "VaultAuth": {
        "required": [
            ("spec", "vaultConnectionRef"),
            ("spec", "method"),
            ("spec", "mount"),
            ("spec", "kubernetes", "role"),
            ("spec", "kubernetes", "serviceAccount"),
        ],
        "spec": {"vaultConnectionRef", "method", "mount", "namespace", "kubernetes", "params", "headers"},
        "enums": {("spec", "method"): {"kubernetes", "jwt", "appRole", "aws", "gcp"}},
    },
    "VaultStaticSecret": {
        "required": [
            ("spec", "vaultAuthRef"),
            ("spec", "mount"),
            ("spec", "type"),
            ("spec", "path"),
            ("spec", "destination", "name"),
        ],
        "spec": {
            "vaultAuthRef",
            "namespace",
            "mount",
            "path",
            "version",
            "type",
            "refreshAfter",
            "hmacSecretData",
            "rolloutRestartTargets",
            "destination",
            "syncConfig",
        },
        "enums": {("spec", "type"): {"kv-v1", "kv-v2"}},
    },
}


def is_vault(doc: dict) -> bool:
    return str(doc.get("apiVersion", "")).startswith(VAULT_GROUP)


def vault_crd_problems(docs: list[dict]) -> list[str]:
    found = []
    for doc in filter(is_vault, docs):
        where = f"{doc['kind']}/{doc.get('metadata', {}).get('name')}"
        schema = VAULT_KINDS.get(doc["kind"])
        if doc["apiVersion"] != f"{VAULT_GROUP}v1beta1" or schema is None:
            found.append(f"{where}: unknown custom resource {doc['apiVersion']} {doc['kind']}")
            continue
        for path in schema["required"]:
            if _get(doc, path) in (None, "", [], {}):
                found.append(f"{where}: {'.'.join(path)} missing")
        unknown = set(doc.get("spec", {})) - schema["spec"]
        if unknown:
            found.append(f"{where}: unknown spec fields {sorted(unknown)}")
        for path, allowed in schema.get("enums", {}).items():
            value = _get(doc, path)
            if value is not None and value not in allowed:
                found.append(f"{where}: {'.'.join(path)} {value!r} not one of {sorted(allowed)}")
    return found
