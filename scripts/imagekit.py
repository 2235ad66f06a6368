"""Podman on this kind of machine, shared by scripts/standin_bases.py, the image test tier and
scripts/bench_images.py (standard library only).

Podman runs as root with runc (crun fails on this cgroup setup), from a private configuration that
touches nothing in /etc: containers.conf (runtime, ulimits), storage.conf (overlay storage kept in a
cache directory, so stand-in bases and build layers survive between runs) and registries.conf (short
names like `python:3.12.7-slim-bookworm` mean docker.io's, as with Docker). Nothing is ever pulled:
every build runs with `--pull=never` against the stand-in bases.

    CN_TEMPLATE_CONTAINERS   where configuration and image storage live
                             (default ~/.cache/cn-template/containers)
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("CN_TEMPLATE_CONTAINERS", Path.home() / ".cache" / "cn-template" / "containers"))
# Run state (mounts, locks) belongs in /run: it must not outlive a reboot the way storage does. One
# per storage directory: two storages must never share it.
RUN_STATE = Path("/run/cn-template-containers") / hashlib.sha256(str(CACHE).encode()).hexdigest()[:12]

APT_PACKAGES = ("podman", "buildah", "runc", "debootstrap")

CONTAINERS_CONF = """\
# Written by scripts/imagekit.py: podman for cn-template's image tier.
[containers]
# The machine's own limits are lower than podman's defaults: asking for more fails at start.
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "{run}/libpod"
"""

STORAGE_CONF = """\
# Written by scripts/imagekit.py: images and build layers are kept between runs.
[storage]
driver = "overlay"
graphroot = "{cache}/storage"
runroot = "{run}/storage"
"""

REGISTRIES_CONF = """\
# Written by scripts/imagekit.py: short names resolve as Docker resolves them. Nothing is pulled here.
unqualified-search-registries = ["docker.io"]
short-name-mode = "permissive"
"""


def configure() -> dict[str, str]:
    """Write the private configuration (idempotent) and return the environment that selects it."""
    CACHE.mkdir(parents=True, exist_ok=True)
    files = {
        "containers.conf": CONTAINERS_CONF.format(run=RUN_STATE),
        "storage.conf": STORAGE_CONF.format(cache=CACHE, run=RUN_STATE),
        "registries.conf": REGISTRIES_CONF,
    }
    for name, text in files.items():
        path = CACHE / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    return env()


def env() -> dict[str, str]:
    """os.environ plus the variables that point podman and buildah at the private configuration."""
    return {
        **os.environ,
        "CONTAINERS_CONF": str(CACHE / "containers.conf"),
        "CONTAINERS_STORAGE_CONF": str(CACHE / "storage.conf"),
        "CONTAINERS_REGISTRIES_CONF": str(CACHE / "registries.conf"),
    }


def missing_packages() -> list[str]:
    missing = []
    for pkg in APT_PACKAGES:
        proc = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", pkg], capture_output=True, text=True, check=False
        )
        if "install ok installed" not in proc.stdout:
            missing.append(pkg)
    return missing


def ensure_tools() -> None:
    """Install podman, buildah, runc and debootstrap from Debian when any is missing (needs root)."""
    if os.geteuid() != 0:
        raise SystemExit("podman here runs as root (runc, overlay storage): run this as root")
    missing = missing_packages()
    if missing:
        print(f"installing Debian packages: {' '.join(missing)}", flush=True)
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=apt_env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            check=True,
            env=apt_env,
            stdout=subprocess.DEVNULL,
        )


def podman(*args: str, check: bool = True, capture: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run podman with the private configuration; output captured as text unless capture=False."""
    proc = subprocess.run(
        ["podman", *args],
        env=env(),
        text=True,
        capture_output=capture,
        check=False,
        **kwargs,
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return proc


def qualified(name: str) -> str:
    """The full reference a short image name means (`python:3` -> `docker.io/library/python:3`)."""
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return name
    return f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"


def label(name: str, key: str) -> str | None:
    proc = podman("image", "inspect", "--format", "{{json .Labels}}", name, check=False)
    if proc.returncode != 0:
        return None
    return (json.loads(proc.stdout.strip() or "null") or {}).get(key)


# How a registry's transient failure reads in Maven, npm, pip and Go's output.
NETWORK_FAILURE = re.compile(
    r"Connection reset|connection reset by peer|ECONNRESET|ETIMEDOUT|EAI_AGAIN|Read timed out"
    r"|ReadTimeoutError|TLS handshake timeout|i/o timeout|Temporary failure in name resolution"
    r"|unexpected EOF|Premature end of Content-Length"
)
BUILD_ATTEMPTS = 3


def build(
    context: Path,
    tag: str,
    *,
    dockerfile: Path | None = None,
    no_cache: bool = False,
    extra: tuple[str, ...] = (),
) -> float:
    """`podman build` (docker format keeps HEALTHCHECK; bases are never pulled); returns seconds."""
    args = ["build", "--format", "docker", "--pull=never", "--layers", "--tag", tag]
    if dockerfile is not None:
        args += ["--file", str(dockerfile)]
    if no_cache:
        args.append("--no-cache")
    with one_at_a_time("build"):
        previous = image_id(tag)
        start = time.perf_counter()
        for attempt in range(1, BUILD_ATTEMPTS + 1):
            try:
                podman(*args, *extra, str(context))
                break
            except RuntimeError as error:
                # A registry's connection dropped mid-download is the network's fault, not the
                # Dockerfile's: build again (the layers and cache mounts done so far are reused).
                if attempt == BUILD_ATTEMPTS or not NETWORK_FAILURE.search(str(error)):
                    raise
                print(f"{tag}: a download failed, building again ({attempt}/{BUILD_ATTEMPTS})", flush=True)
        elapsed = time.perf_counter() - start
        if previous and previous != image_id(tag):
            # The image this tag named before is now untagged: drop it (its shared layers stay
            # cached). Under the lock: a build looking up its cached layers while rmi deletes
            # one fails with "layer not known".
            podman("rmi", previous, check=False)
    return elapsed


@contextlib.contextmanager
def one_at_a_time(what: str):
    """A machine-wide lock (in the cache directory): builds share 2 cores with everything else, and
    test workers, benchmarks and other checkouts use the same storage."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{what}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def image_id(name: str) -> str | None:
    proc = podman("image", "inspect", "--format", "{{.Id}}", name, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def size(image: str) -> int:
    """Bytes of the image's layers, uncompressed, as `podman images` reports them."""
    return int(podman("image", "inspect", "--format", "{{.Size}}", image).stdout.strip())


@contextlib.contextmanager
def mounted(image: str):
    """The image's root filesystem, read from the host (works for images without a shell)."""
    path = Path(podman("image", "mount", image).stdout.strip())
    try:
        yield path
    finally:
        podman("image", "unmount", image, check=False)


# Where images keep executables: the usual paths, a virtualenv's, distroless Node's, busybox's, a JDK's.
BIN_DIRS = ("bin", "sbin", "usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin", "opt/venv/bin",
            "nodejs/bin", "busybox", "opt/java/openjdk/bin")  # fmt: skip


def executables(root: Path) -> list[tuple[str, str]]:
    """Every entry of an image's executable folders: (its path in the image, its name)."""
    found = []
    for folder in BIN_DIRS:
        directory = root / folder
        if directory.is_dir() and not directory.is_symlink():
            found += [(f"/{folder}/{entry.name}", entry.name) for entry in directory.iterdir()]
    return found


# What a runtime image must not carry: compilers, build tools and package installers of the app's
# ecosystem, and their download caches (the base OS's own apt/dpkg are the base's business).
BUILD_TOOLS = ("gcc", "cc", "c++", "g++", "clang", "make", "ld", "as", "pip", "pip3", "npm", "npx", "yarn",
               "corepack", "go", "gofmt", "mvn", "javac")  # fmt: skip
TOOL_MODULES = ("pip", "setuptools", "wheel")
CACHES = ("root/.cache/pip", "root/.npm", "root/.m2", "root/.cache/go-build", "go/pkg/mod",
          "usr/local/share/.cache", "home/node/.npm")  # fmt: skip


def leftovers(root: Path) -> dict[str, list[str]]:
    """Build tools, installer modules and package caches found in an image's root filesystem."""
    found: dict[str, list[str]] = {"build tools": [], "installer modules": [], "package caches": []}
    found["build tools"] = [
        path
        for path, name in executables(root)
        if name in BUILD_TOOLS or name.startswith(("gcc-", "pip3.", "python3-config"))
    ]
    for pattern in ("usr/lib/python3*", "usr/local/lib/python3*", "opt/venv/lib/python3*"):
        for lib in root.glob(pattern):
            for where in (lib, lib / "site-packages", lib / "dist-packages"):
                if where.is_dir():
                    found["installer modules"] += [
                        "/" + str((where / name).relative_to(root))
                        for name in TOOL_MODULES
                        if (where / name).is_dir()
                    ]
    found["package caches"] = [f"/{c}" for c in CACHES if (root / c).is_dir() and any((root / c).iterdir())]
    found["package caches"] += [
        "/" + str(p.relative_to(root)) for p in (root / "var/cache/apt/archives").glob("*.deb")
    ]
    return found


# What a final image must not carry at all (the "no package manager or shell"), the base
# image's own included: a shell anywhere on the usual paths, and any package manager or installer.
SHELLS = ("sh", "bash", "dash", "ash", "zsh", "ksh", "busybox")
PACKAGE_MANAGERS = ("apt", "apt-get", "aptitude", "dpkg", "rpm", "dnf", "yum", "microdnf", "apk", "pip",
                    "pip3", "npm", "npx", "yarn", "pnpm", "corepack", "gem", "mvn")  # fmt: skip


def shells_and_package_managers(root: Path) -> dict[str, list[str]]:
    """Shells and package managers found in an image's root filesystem: executables by name, Python's
    pip module, npm's package, and ensurepip only with a pip wheel it could install."""
    found: dict[str, list[str]] = {"shells": [], "package managers": []}
    for path, name in executables(root):
        if name in SHELLS:
            found["shells"].append(path)
        elif name in PACKAGE_MANAGERS or name.startswith("pip3."):
            found["package managers"].append(path)
    patterns = ("usr/lib/python3*/site-packages/pip", "usr/lib/python3*/dist-packages/pip",
                "usr/local/lib/python3*/site-packages/pip", "opt/venv/lib/python3*/site-packages/pip",
                "usr/lib/python3*/ensurepip/_bundled/pip-*.whl",
                "usr/local/lib/python3*/ensurepip/_bundled/pip-*.whl",
                "usr/share/python-wheels/pip-*.whl", "usr/local/lib/node_modules/npm",
                "nodejs/lib/node_modules/npm")  # fmt: skip
    for pattern in patterns:
        found["package managers"] += ["/" + str(path.relative_to(root)) for path in root.glob(pattern)]
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_status(url: str, timeout: float = 2.0) -> int | None:
    """The HTTP status of a GET, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, urllib.error.URLError):
        return None


def wait_status(url: str, expected: int, timeout: float, interval: float = 0.01) -> float | None:
    """Seconds until `url` answers `expected` (polled), or None when it does not within `timeout`."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if http_status(url, timeout=1.0) == expected:
            return time.perf_counter() - start
        time.sleep(interval)
    return None


def hardened_run_args(tmp_dirs: list[str]) -> list[str]:
    """What the template's manifests ask of the container, as podman flags."""
    args = ["--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges"]
    for directory in tmp_dirs:
        args += ["--tmpfs", f"{directory}:rw,nosuid,nodev,noexec,size=64m"]
    return args
