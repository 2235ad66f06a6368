"""Pod Security Standard "restricted" (plus our own bar: read-only root fs, resources, probes), as code.

`violations(docs)` lists every breach in a stream of Kubernetes objects; an empty list is a pass.
"""

from __future__ import annotations

POD_KINDS = {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}
ALLOWED_CAPS_ADD = {"NET_BIND_SERVICE"}
ALLOWED_VOLUMES = {
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "persistentVolumeClaim",
    "projected",
    "secret",
}


def pod_spec(doc: dict) -> dict | None:
    kind = doc.get("kind")
    if kind not in POD_KINDS:
        return None
    if kind == "Pod":
        return doc["spec"]
    if kind == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def violations(docs: list[dict], *, long_running_probes: bool = True) -> list[str]:
    found = []
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        pod_ctx = spec.get("securityContext", {})
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if spec.get(flag):
                found.append(f"{where}: {flag}")
        for volume in spec.get("volumes", []):
            kinds = set(volume) - {"name"}
            if not kinds <= ALLOWED_VOLUMES:
                found.append(f"{where}: volume {volume['name']} of type {kinds - ALLOWED_VOLUMES}")
        containers = spec.get("initContainers", []) + spec.get("containers", [])
        for container in containers:
            cwhere = f"{where}/{container['name']}"
            ctx = container.get("securityContext", {})

            def effective(key, ctx=ctx, pod_ctx=pod_ctx):
                return ctx.get(key, pod_ctx.get(key))

            if effective("runAsNonRoot") is not True:
                found.append(f"{cwhere}: runAsNonRoot must be true")
            if effective("runAsUser") == 0:
                found.append(f"{cwhere}: runAsUser 0")
            seccomp = (effective("seccompProfile") or {}).get("type")
            if seccomp not in {"RuntimeDefault", "Localhost"}:
                found.append(f"{cwhere}: seccompProfile must be RuntimeDefault")
            if ctx.get("allowPrivilegeEscalation") is not False:
                found.append(f"{cwhere}: allowPrivilegeEscalation must be false")
            if ctx.get("privileged"):
                found.append(f"{cwhere}: privileged")
            caps = ctx.get("capabilities", {})
            if "ALL" not in caps.get("drop", []):
                found.append(f"{cwhere}: capabilities must drop ALL")
            if set(caps.get("add", [])) - ALLOWED_CAPS_ADD:
                found.append(f"{cwhere}: adds capabilities {caps['add']}")
            if ctx.get("readOnlyRootFilesystem") is not True:
                found.append(f"{cwhere}: readOnlyRootFilesystem must be true")
            for port in container.get("ports", []):
                if "hostPort" in port:
                    found.append(f"{cwhere}: hostPort")
            resources = container.get("resources", {})
            for part in ("requests", "limits"):
                if not {"cpu", "memory"} <= set(resources.get(part, {})):
                    found.append(f"{cwhere}: resources.{part} must set cpu and memory")
            long_running = doc["kind"] in {"Deployment", "StatefulSet", "DaemonSet"}
            init = container in spec.get("initContainers", [])
            if long_running_probes and long_running and not init and "readinessProbe" not in container:
                found.append(f"{cwhere}: readinessProbe missing")
    return found
