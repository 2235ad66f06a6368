"""A real Kubernetes control plane for the apiserver tier: etcd and kube-apiserver on loopback, with the
CustomResourceDefinitions the renderings use installed, judged through kubectl.

Built from their Go modules at pinned versions (support.tools.control_plane_binaries); started once per
test session by the `control_plane` fixture (tests/test_apiserver.py) and stopped after it. The API
server runs its default admission chain, Pod Security included, but ServiceAccount admission (nothing
here creates ServiceAccounts); RBAC with one static admin token.

`ControlPlane.refusals(docs, namespace)` is the check: every object goes through server-side apply with
`--dry-run=server` (strict field validation), every pod template also as the Pod its controller would
create (Pod Security "enforce" judges Pods; Deployments only get warnings), and every error or warning
the server returns is a refusal. An empty list is a pass.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import time
import urllib.request
from pathlib import Path

import yaml

from support import tools

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
PSA = "pod-security.kubernetes.io"
FIELD_MANAGER = "cn-template-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pod_template(doc: dict) -> dict | None:
    """The pod template of a workload (a CronJob's through its Job template), else None."""
    if doc.get("kind") == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]
    if doc.get("kind") in WORKLOAD_KINDS:
        return doc["spec"]["template"]
    return None


def pods_of(docs: list[dict]) -> list[dict]:
    """The Pods the workloads in `docs` would create, as objects to submit."""
    pods = []
    for doc in docs:
        template = pod_template(doc)
        if template is None:
            continue
        metadata = {**template.get("metadata", {}), "name": f"{doc['metadata']['name'][:58]}-pod"}
        if "namespace" in doc["metadata"]:
            metadata["namespace"] = doc["metadata"]["namespace"]
        spec = copy.deepcopy(template["spec"])
        # a StatefulSet's controller adds a volume per claim template, bound to that pod's own claim
        for claim in doc["spec"].get("volumeClaimTemplates", []) if doc["kind"] == "StatefulSet" else []:
            name = claim["metadata"]["name"]
            claim_name = f"{name}-{doc['metadata']['name']}-0"
            spec.setdefault("volumes", []).append(
                {"name": name, "persistentVolumeClaim": {"claimName": claim_name}}
            )
        pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
    return pods


class ControlPlane:
    def __init__(self, workdir: Path, crds: list[Path]):
        self.workdir = workdir
        self.crds = crds
        self.binaries = tools.control_plane_binaries()
        self.token = secrets.token_hex(16)
        self.kubeconfig = workdir / "kubeconfig"
        self.processes: list[subprocess.Popen] = []
        self.version = ""

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> ControlPlane:
        try:
            self._start()
        except BaseException:
            self.stop()  # no etcd or API server outlives a failed start
            raise
        return self

    def _start(self) -> None:
        etcd_client, etcd_peer, secure = free_port(), free_port(), free_port()
        etcd_data = self.workdir / "etcd"
        self._spawn(
            "etcd",
            [
                str(self.binaries["etcd"]),
                "--name=cn-template",
                f"--data-dir={etcd_data}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=cn-template=http://127.0.0.1:{etcd_peer}",
                "--unsafe-no-fsync",  # a throwaway store: no need to wait for the disk
                "--log-level=warn",
            ],
        )
        key = self.workdir / "service-account.key"
        subprocess.run(
            ["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key)],
            check=True,
            capture_output=True,
        )
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(f"{self.token},admin,admin,system:masters\n")
        self._spawn(
            "kube-apiserver",
            [
                str(self.binaries["kube-apiserver"]),
                f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={secure}",
                f"--cert-dir={self.workdir / 'certs'}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={key}",
                f"--service-account-signing-key-file={key}",
                "--service-cluster-ip-range=10.96.0.0/16",
                # as a cluster's kubelets allow: Pod Security, not this flag, refuses privileged pods
                "--allow-privileged=true",
                # no controller manager creates ServiceAccounts here; the Pods a workload would create
                # are judged without looking theirs up
                "--disable-admission-plugins=ServiceAccount",
            ],
        )
        self.server = f"https://127.0.0.1:{secure}"
        self._wait_ready()
        self.kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {
                            "name": "local",
                            "cluster": {"server": self.server, "insecure-skip-tls-verify": True},
                        }
                    ],
                    "users": [{"name": "admin", "user": {"token": self.token}}],
                    "contexts": [{"name": "local", "context": {"cluster": "local", "user": "admin"}}],
                    "current-context": "local",
                }
            )
        )
        self.version = json.loads(self.kubectl("version", "-o", "json").stdout)["serverVersion"]["gitVersion"]
        self._install_crds()

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.processes.clear()

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.workdir / f"{name}.log", "wb")  # noqa: SIM115 - the process keeps it
        self.processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT))

    def _wait_ready(self, timeout: float = 180) -> None:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        request = urllib.request.Request(
            f"{self.server}/readyz", headers={"Authorization": f"Bearer {self.token}"}
        )
        deadline = time.monotonic() + timeout
        while True:
            for process in self.processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args[0]} exited: {self.logs()}")
            try:
                with urllib.request.urlopen(request, context=context, timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API server was not ready in {timeout} s: {self.logs()}")
            time.sleep(0.5)

    def logs(self, tail: int = 4000) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-tail:]}"
            for log in sorted(self.workdir.glob("*.log"))
        )

    def _install_crds(self) -> None:
        for crd in self.crds:
            self.kubectl("apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", str(crd))
        self.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=120s")

    # --- kubectl ----------------------------------------------------------------------------------

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(self.binaries["kubectl"]), f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "KUBECTL_INTERACTIVE_DELETE": "false"},
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    # --- the check --------------------------------------------------------------------------------

    def apply(self, doc: dict) -> None:
        """Apply `doc` for real (server-side): namespaces, which dry-run objects need to exist."""
        self.kubectl(
            "apply",
            "--server-side",
            "--force-conflicts",
            f"--field-manager={FIELD_MANAGER}",
            "-f",
            "-",
            stdin=json.dumps(doc),
        )

    def namespace(self, name: str, version: str) -> None:
        """Create (or update) namespace `name` with Pod Security "restricted" enforced, warned and
        audited at `version` ("v1.33")."""
        labels = {}
        for mode in ("enforce", "warn", "audit"):
            labels[f"{PSA}/{mode}"] = "restricted"
            labels[f"{PSA}/{mode}-version"] = version
        self.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})

    def refusals(self, docs: list[dict], namespace: str | None = None) -> list[str]:
        """What the server refuses or warns about when `docs` (and the Pods their workloads would
        create) are applied server-side with --dry-run=server. Objects without a namespace go to
        `namespace` (objects that name theirs need none)."""
        found = []
        target = [f"--namespace={namespace}"] if namespace else []
        for batch in (docs, pods_of(docs)):
            if not batch:
                continue
            proc = self.kubectl(
                "apply",
                "--server-side",
                "--dry-run=server",
                "--validate=strict",
                f"--field-manager={FIELD_MANAGER}",
                *target,
                "-f",
                "-",
                stdin=yaml.safe_dump_all(batch),
                check=False,
            )
            found += [line for line in proc.stderr.splitlines() if line.strip()]
            if proc.returncode != 0 and not proc.stderr.strip():
                found.append(f"kubectl exited {proc.returncode}: {proc.stdout}")
        return found
