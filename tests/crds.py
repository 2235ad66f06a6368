"""Custom resources, checked by structure: kubernetes-validate knows only the core Kubernetes schemas.

`split(docs)` separates the core objects (for kubernetes-validate --strict) from the custom resources;
`crd_problems(docs)` lists what is wrong with the custom resources: an unknown kind or version, a
missing required field, a field the kind does not have (a typo), a value outside its enum, or a
reference to an object of the release that is not there. An empty list is a pass.
"""

from __future__ import annotations

CRD_GROUPS = (
    "monitoring.coreos.com/",
    "security.istio.io/",
    "external-secrets.io/",
    "secrets.hashicorp.com/",
)

# (apiVersion, kind) -> {"required": paths in the object, "spec": allowed spec keys,
#                        "enums": {path: allowed values}}
SCHEMAS: dict[tuple[str, str], dict] = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): {
        "required": [("spec", "selector"), ("spec", "endpoints")],
        "spec": {"selector", "endpoints", "namespaceSelector", "jobLabel"},
    },
    ("monitoring.coreos.com/v1", "PrometheusRule"): {"required": [("spec", "groups")], "spec": {"groups"}},
    ("security.istio.io/v1", "PeerAuthentication"): {
        "required": [("spec", "selector", "matchLabels"), ("spec", "mtls", "mode")],
        "spec": {"selector", "mtls", "portLevelMtls"},
        "enums": {("spec", "mtls", "mode"): {"UNSET", "DISABLE", "PERMISSIVE", "STRICT"}},
    },
    ("security.istio.io/v1", "AuthorizationPolicy"): {
        "required": [("spec", "selector", "matchLabels"), ("spec", "action"), ("spec", "rules")],
        "spec": {"selector", "targetRef", "targetRefs", "rules", "action", "provider"},
        "enums": {("spec", "action"): {"ALLOW", "DENY", "AUDIT", "CUSTOM"}},
    },
    ("external-secrets.io/v1", "SecretStore"): {
        "required": [("spec", "provider")],
        "spec": {"provider", "controller", "retrySettings", "refreshInterval", "conditions"},
    },
    ("external-secrets.io/v1", "ExternalSecret"): {
        "required": [
            ("spec", "secretStoreRef", "name"),
            ("spec", "secretStoreRef", "kind"),
            ("spec", "target", "name"),
            ("spec", "data"),
        ],
        "spec": {"secretStoreRef", "target", "refreshInterval", "refreshPolicy", "data", "dataFrom"},
        "enums": {
            ("spec", "secretStoreRef", "kind"): {"SecretStore", "ClusterSecretStore"},
            ("spec", "target", "creationPolicy"): {"Owner", "Orphan", "Merge", "None"},
        },
    },
    ("secrets.hashicorp.com/v1beta1", "VaultConnection"): {
        "required": [("spec", "address")],
        "spec": {"address", "headers", "tlsServerName", "caCertSecretRef", "skipTLSVerify", "timeout"},
    },
    ("secrets.hashicorp.com/v1beta1", "VaultAuth"): {
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
    ("secrets.hashicorp.com/v1beta1", "VaultStaticSecret"): {
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

# Kind -> (path to the name it references, kind it names), checked when the referenced object is
# one this release creates (a ClusterSecretStore, say, belongs to the platform).
REFERENCES = {
    "ExternalSecret": (("spec", "secretStoreRef", "name"), "SecretStore"),
    "VaultAuth": (
        (
            "spec",
            "vaultConnectionRef",
        ),
        "VaultConnection",
    ),
    "VaultStaticSecret": (
        (
            "spec",
            "vaultAuthRef",
        ),
        "VaultAuth",
    ),
}


def is_custom(doc: dict) -> bool:
    return str(doc.get("apiVersion", "")).startswith(CRD_GROUPS)


def split(docs: list[dict]) -> tuple[list[dict], list[dict]]:
    """(core objects, custom resources)."""
    return [d for d in docs if not is_custom(d)], [d for d in docs if is_custom(d)]


def _get(doc: dict, path: tuple[str, ...]):
    node = doc
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def crd_problems(docs: list[dict]) -> list[str]:
    found = []
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    for doc in docs:
        if not is_custom(doc):
            continue
        where = f"{doc['kind']}/{doc.get('metadata', {}).get('name')}"
        schema = SCHEMAS.get((doc["apiVersion"], doc["kind"]))
        if schema is None:
            found.append(f"{where}: unknown custom resource {doc['apiVersion']} {doc['kind']}")
            continue
        if not doc.get("metadata", {}).get("name"):
            found.append(f"{where}: metadata.name missing")
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
        if doc["kind"] in REFERENCES:
            path, target = REFERENCES[doc["kind"]]
            if doc["kind"] == "ExternalSecret" and _get(doc, ("spec", "secretStoreRef", "kind")) != target:
                continue
            if (target, _get(doc, path)) not in names:
                found.append(f"{where}: {'.'.join(path)} names no {target} of this release")
    return found
