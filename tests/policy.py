"""Pod Security: the Pod Security Standard "restricted" as Kubernetes itself evaluates it, plus our own
stricter bar.

`violations(docs)` lists every breach in a stream of Kubernetes objects; an empty list is a pass.
- `pod_security(docs)`: the upstream evaluator, k8s.io/pod-security-admission (the code the API
  server's admission plugin runs), through the small Go program in tests/psa, at the version the
  rendered Namespace's `pod-security.kubernetes.io/enforce-version` label names ("latest" without one).
- `our_bar(docs)`: what "restricted" does not ask and this template does, named as ours: a read-only
  root filesystem, CPU and memory requests and limits, a readiness probe on long-running containers.
"""

from __future__ import annotations

import json
import subprocess

from support import tools

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
