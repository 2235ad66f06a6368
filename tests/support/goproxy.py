#!/usr/bin/env python3
"""Build an offline Go module proxy (GOPROXY=file://...) from Debian's Go library packages.

Why: the generated Go app ships a normal go.mod/go.sum, but the Go module proxy is unreachable on
our machines. Debian packages most Go libraries as `golang-*-dev` (sources under
/usr/share/gocode/src); this script turns those sources into a directory in the GOPROXY layout:

    <escaped module>/@v/list                 tagged versions, one per line
    <escaped module>/@v/<version>.info       {"Version": ..., "Time": ...}
    <escaped module>/@v/<version>.mod        the module's go.mod
    <escaped module>/@v/<version>.zip        files under "<module>@<version>/" (golang.org/x/mod/zip rules)
    <escaped module>/@latest                 for modules with pseudo-versions only

Source: Debian 13 "trixie" (stable; much newer libraries than bookworm's). The pinned .deb files
are fetched with apt-get into a private apt root inside the cache dir and unpacked with
dpkg-deb -x: nothing is installed on, or changed in, the host, so a bookworm host works too.

Versions: each module is served at the version Debian packages, and also under every other version
that some served go.mod requires (x/sys: Debian has v0.22.0, client_golang asks for v0.28.0). The
go.mod of a served version is the upstream one when goproxy_upstream_gomod.txt has it (hash-checked;
needed wherever Debian's go.mod differs, see that file), so Go's minimal version selection picks
exactly the versions it picks upstream and reads the same go.mod files. A required module Debian
does not ship gets its upstream go.mod, else a minimal one (graph walking only).

Limits, on purpose: the zips hold Debian's files (no README/LICENSE/tests/testdata, some Debian
import patches undone below), so their h1: hashes differ from the upstream ones; the "/go.mod"
hashes match upstream wherever the upstream go.mod is served. The go.sum this proxy produces is
right for this proxy only: go_offline.py swaps it in for offline builds of a rendered app and
checks that the shipped (upstream) go.sum has the same lines.

Usage:
    goproxy.py [CACHE_DIR]                # default ~/.cache/cn-template/goproxy; idempotent
    eval "$(goproxy.py CACHE_DIR --print-env)"   # export GOPROXY, GOFLAGS, GOSUMDB, caches, ...
    go build ./... / go test ./... / go mod tidy  # then work offline as usual

Needs only Python's standard library, apt-get and dpkg-deb (any Debian-based host) and
http://deb.debian.org on the first run. Every later run with the same package list is a no-op.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

SUITE = "trixie"
MIRROR = "http://deb.debian.org/debian"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"

# Debian packages (pinned: same files, same hashes) whose sources become modules: the transitive
# closure of what the generated app imports with every data service chosen, found with go mod tidy.
DEB_PACKAGES = {
    # metrics: github.com/prometheus/client_golang
    "golang-github-prometheus-client-golang-dev": "1.21.1-1",
    "golang-github-prometheus-client-model-dev": "0.6.0-1",
    "golang-github-prometheus-common-dev": "0.62.0-3",
    "golang-github-prometheus-procfs-dev": "0.15.1-1",
    "golang-github-beorn7-perks-dev": "1.0.1-3",
    "golang-github-cespare-xxhash-dev": "2.3.0-1",
    "golang-github-klauspost-compress-dev": "1.18.0+ds1-1",
    "golang-github-munnerz-goautoneg-dev": "0.0~git20191010.a7dc8b6-2",
    "golang-google-protobuf-dev": "1.36.5-1",
    "golang-golang-x-sys-dev": "0.22.0-1",
    # postgres: github.com/lib/pq (Debian has no pgx v5; pgx v4 is end of life)
    "golang-github-lib-pq-dev": "1.10.9-2",
    # redis: github.com/gomodule/redigo (Debian has no go-redis v9)
    "golang-github-gomodule-redigo-dev": "1:1.9.2-2",
    # memcached
    "golang-github-bradfitz-gomemcache-dev": "0.0~git20230611.acc6962-1",
    # rabbitmq
    "golang-github-rabbitmq-amqp091-go-dev": "1.10.0-1",
    # mongodb: go.mongodb.org/mongo-driver (v1)
    "golang-mongodb-mongo-driver-dev": "1.17.1+ds1-2",
    "golang-github-golang-snappy-dev": "0.0.2-3",
    "golang-github-montanaflynn-stats-dev": "0.7.1-1",
    "golang-github-xdg-go-scram-dev": "1.1.2-1",
    "golang-github-xdg-go-stringprep-dev": "1.0.4-1",
    "golang-github-xdg-go-pbkdf2-dev": "1.0.0-3",
    "golang-github-youmark-pkcs8-dev": "1.1-3",
    "golang-golang-x-crypto-dev": "1:0.25.0-1",
    "golang-golang-x-sync-dev": "0.7.0-1",
    "golang-golang-x-text-dev": "0.22.0-1",
    # kafka: github.com/IBM/sarama
    "golang-github-ibm-sarama-dev": "1.45.1-1",
    "golang-github-davecgh-go-spew-dev": "1.1.1-3",
    "golang-gopkg-eapache-go-resiliency.v1-dev": "1.7.0-1",
    "golang-github-eapache-go-xerial-snappy-dev": "0.0~git20180814.776d571-1",
    "golang-gopkg-eapache-queue.v1-dev": "1.1.0-2",
    "golang-github-hashicorp-go-multierror-dev": "1.1.1-2",
    "golang-github-hashicorp-errwrap-dev": "1.1.0-1",
    "golang-github-hashicorp-go-uuid-dev": "1.0.3-1",
    "golang-github-jcmturner-gofork-dev": "1.0.0-4",
    "golang-github-jcmturner-gokrb5.v8-dev": "8.4.3-2",
    "golang-github-jcmturner-aescts.v2-dev": "2.0.0-2",
    "golang-github-jcmturner-dnsutils.v2-dev": "2.0.0-2",
    "golang-github-jcmturner-rpc.v2-dev": "2.0.3-2",
    "golang-github-pierrec-lz4-dev": "4.1.18-1",
    "golang-github-rcrowley-go-metrics-dev": "0.0~git20180125.8732c61-3",
    "golang-golang-x-net-dev": "1:0.27.0-2",
}

# Debian packages whose sources have no go.mod: package -> [(module path, dir under gocode/src)].
# A minimal "module <path>" go.mod is served for them (as the real proxy does for go.mod-less tags).
NO_GOMOD = {
    "golang-github-davecgh-go-spew-dev": [("github.com/davecgh/go-spew", "github.com/davecgh/go-spew")],
    "golang-github-eapache-go-xerial-snappy-dev": [
        ("github.com/eapache/go-xerial-snappy", "github.com/eapache/go-xerial-snappy")
    ],
    "golang-gopkg-eapache-queue.v1-dev": [("github.com/eapache/queue", "gopkg.in/eapache/queue.v1")],
    "golang-github-jcmturner-aescts.v2-dev": [
        ("github.com/jcmturner/aescts/v2", "github.com/jcmturner/aescts/v2")
    ],
    "golang-github-jcmturner-dnsutils.v2-dev": [
        ("github.com/jcmturner/dnsutils/v2", "github.com/jcmturner/dnsutils/v2")
    ],
    "golang-github-jcmturner-gofork-dev": [("github.com/jcmturner/gofork", "github.com/jcmturner/gofork")],
    "golang-github-jcmturner-gokrb5.v8-dev": [
        ("github.com/jcmturner/gokrb5/v8", "github.com/jcmturner/gokrb5/v8")
    ],
    "golang-github-jcmturner-rpc.v2-dev": [("github.com/jcmturner/rpc/v2", "github.com/jcmturner/rpc/v2")],
    "golang-github-munnerz-goautoneg-dev": [("github.com/munnerz/goautoneg", "github.com/munnerz/goautoneg")],
    "golang-github-rcrowley-go-metrics-dev": [
        ("github.com/rcrowley/go-metrics", "github.com/rcrowley/go-metrics")
    ],
    "golang-github-youmark-pkcs8-dev": [("github.com/youmark/pkcs8", "github.com/youmark/pkcs8")],
}

# Module versions that cannot be derived from the Debian version (e.g. Debian "1.1" for a module
# that upstream tags v1.1.0, or git snapshots whose commit is not referenced anywhere).
VERSION_OVERRIDES: dict[str, str] = {
    # Debian 0.0~git20230611.acc6962: the upstream pseudo-version of that commit
    "github.com/bradfitz/gomemcache": "v0.0.0-20230611145640-acc696258285",
}

# Debian replaces vendored copies with its own packages, which changes some import paths. Undo
# that where the module graph would otherwise change: module -> [(old import, new import)].
IMPORT_REWRITES = {
    # upstream uses its own internal copy of cespare/xxhash v2; Debian points at the system one
    "github.com/klauspost/compress": [('"github.com/cespare/xxhash"', '"github.com/cespare/xxhash/v2"')],
}

# Packages Debian leaves out (non-Linux code) that `go mod tidy` still resolves, since it looks at
# every platform: module -> {package dir: Go file}. A stub lets tidy pass; nothing builds them here.
STUB_PACKAGES = {
    "golang.org/x/sys": {
        "windows": "// Package windows is a stub: Debian ships golang.org/x/sys for Unix only.\npackage windows\n",
    },
}

# Upstream go.mod files, byte for byte, for module versions whose go.mod Debian does not ship as
# upstream has it: versions served under a label (x/net 0.27.0 as v0.35.0), Debian packages without
# a go.mod, and modules Debian does not package that the module graph still walks (the requirements
# of go.mod files older than go 1.17 are loaded transitively). Without them the local graph differs
# from the real one: other selected versions (x/net v0.35.0 asks for x/sys v0.30.0) and other
# go.sum keys. Each entry carries the h1: hash upstream publishes and is checked against it.
UPSTREAM_GOMOD_FILE = Path(__file__).with_name("goproxy_upstream_gomod.txt")

ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # fixed zip entry timestamps: reproducible files
STAMP_VERSION = "8"  # bump when the proxy layout logic changes


# --------------------------------------------------------------------------- helpers
def log(msg: str) -> None:
    print(f"goproxy: {msg}", file=sys.stderr)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, **kw)


def escape_path(path: str) -> str:
    """GOPROXY path escaping: upper-case letters become '!' + lower-case."""
    return re.sub(r"[A-Z]", lambda m: "!" + m.group(0).lower(), path)


def semver_key(v: str) -> tuple:
    """Sort key for Go semantic versions (v1.2.3[-pre][+incompatible])."""
    m = re.match(r"^v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+incompatible)?$", v)
    if not m:
        return (-1,)
    major, minor, patch, pre = int(m[1]), int(m[2]), int(m[3]), m[4]
    if pre is None:
        return (major, minor, patch, 1, ())
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, parts)


def gomod_hash(text: str) -> str:
    """The go.sum hash of a go.mod file ("<module> <version>/go.mod h1:...")."""
    summary = f"{hashlib.sha256(text.encode()).hexdigest()}  go.mod\n"
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def load_upstream_gomods(path: Path = UPSTREAM_GOMOD_FILE) -> dict[tuple[str, str], str]:
    """(module, version) -> go.mod text, from sections "-- <module> <version> h1:<hash> --".
    Exits if a text does not hash to the h1: value written next to it, unless the header ends in
    "approx" (requirements reconstructed, bytes unknown: see the comment in that file)."""
    out: dict[tuple[str, str], str] = {}
    if not path.exists():
        return out
    head, body = None, []
    for line in path.read_text().splitlines(keepends=True) + ["-- end --\n"]:
        m = re.match(r"^-- (\S+) (\S+) (h1:\S+)( approx)? --$", line.rstrip("\n"))
        if m or line == "-- end --\n":
            if head:
                text = "".join(body)
                if not head[3] and gomod_hash(text) != head[2]:
                    sys.exit(f"goproxy: {path.name}: {head[0]} {head[1]}: go.mod does not hash to {head[2]}")
                out[(head[0], head[1])] = text
            head, body = (m.groups() if m else None), []
        elif head:
            body.append(line)
    return out


# --------------------------------------------------------------------------- apt
def apt_options(root: Path) -> list[str]:
    """apt-get options for a private apt root holding only Debian SUITE (host untouched)."""
    return [
        "-o", f"Dir={root}",
        "-o", f"Dir::State::status={root}/status",
        "-o", f"Dir::Etc::SourceList={root}/sources.list",
        "-o", f"Dir::Etc::SourceParts={root}/sources.list.d",
        "-o", f"Dir::Etc::Parts={root}/apt.conf.d",
        "-o", f"Dir::Etc::Preferences={root}/preferences",
        "-o", f"Dir::Etc::PreferencesParts={root}/preferences.d",
        "-o", f"Dir::Cache={root}/cache",
        "-o", f"Dir::State::Lists={root}/lists",
        "-o", "APT::Architecture=amd64",
        "-o", "APT::Sandbox::User=root",
        "-o", "Debug::NoLocking=1",
    ]  # fmt: skip


def deb_files(debs: Path) -> dict[str, Path]:
    """package -> .deb file to use: the pinned version when present, else the one there is."""
    chosen: dict[str, Path] = {}
    for f in sorted(debs.glob("*.deb")):
        pkg, ver = f.name.split("_")[:2]
        ver = ver.replace("%3a", ":")
        if pkg in DEB_PACKAGES and (pkg not in chosen or ver == DEB_PACKAGES[pkg]):
            chosen[pkg] = f
    return chosen


def fetch_debs(cache: Path) -> dict[str, Path]:
    """Download DEB_PACKAGES at their pinned versions (no dependencies: the list is the closure)."""
    root = cache / "apt"
    debs = cache / "debs"
    for d in ("sources.list.d", "apt.conf.d", "preferences.d", "cache/archives/partial", "lists/partial"):
        (root / d).mkdir(parents=True, exist_ok=True)
    debs.mkdir(parents=True, exist_ok=True)
    (root / "status").touch()
    (root / "sources.list").write_text(f"deb [signed-by={KEYRING}] {MIRROR} {SUITE} main\n")
    have = {(f.name.split("_")[0], f.name.split("_")[1].replace("%3a", ":")) for f in debs.glob("*.deb")}
    missing = [f"{p}={v}" for p, v in DEB_PACKAGES.items() if (p, v) not in have]
    if missing:
        for tool in ("apt-get", "dpkg-deb"):
            if not shutil.which(tool):
                sys.exit(f"goproxy: {tool} not found: this script needs a Debian-based host")
        opts = apt_options(root)
        log(f"apt-get update (private apt root: Debian {SUITE} only)")
        run(["apt-get", *opts, "update", "-q"], stdout=subprocess.DEVNULL)
        log(f"downloading {len(missing)} packages")
        if subprocess.run(
            ["apt-get", *opts, "download", *missing], cwd=debs, stdout=subprocess.DEVNULL
        ).returncode:
            for spec in missing:  # one by one; a pinned version Debian replaced falls back to the current one
                if subprocess.run(
                    ["apt-get", *opts, "download", spec], cwd=debs, stdout=subprocess.DEVNULL
                ).returncode:
                    log(
                        f"WARNING: {spec} is gone from Debian {SUITE}; using its current version. Hashes change:"
                    )
                    log("  regenerate the app's go.mod/go.sum templates, then update DEB_PACKAGES")
                    run(
                        ["apt-get", *opts, "download", spec.split("=")[0]],
                        cwd=debs,
                        stdout=subprocess.DEVNULL,
                    )
    return deb_files(debs)


# --------------------------------------------------------------------------- modules
class Module:
    def __init__(self, path: str, version: str, src: Path, gomod: str | None, deb: str):
        self.path, self.version, self.src, self.gomod, self.deb = path, version, src, gomod, deb

    @property
    def mod_text(self) -> str:
        return self.gomod if self.gomod is not None else f"module {self.path}\n"


def deb_upstream_version(deb_version: str) -> str:
    """'1:0.27.0-2' -> '0.27.0'; '1.17.1+ds1-2' -> '1.17.1'."""
    v = deb_version.split(":", 1)[-1]
    v = v.rsplit("-", 1)[0] if "-" in v else v
    return re.split(r"\+(?:ds|dfsg|really|git)", v)[0]


def go_version_for(path: str, deb_version: str, requires: dict[str, set[str]]) -> str:
    """Map a Debian version to the Go module version it packages."""
    if path in VERSION_OVERRIDES:
        return VERSION_OVERRIDES[path]
    up = deb_upstream_version(deb_version)
    snap = re.match(r"^0\.0~git(\d{8})\.([0-9a-f]{7,})", up)
    if snap:  # git snapshot: find the matching pseudo-version in some go.mod
        date, commit = snap.groups()
        for v in requires.get(path, ()):
            m = re.match(r"^v0\.0\.0-(\d{14})-([0-9a-f]{12})$", v)
            if m and m[1].startswith(date) and m[2].startswith(commit):
                return v
        fake = f"v0.0.0-{date}000000-{commit.ljust(12, '0')[:12]}"
        log(f"note: no pseudo-version known for {path} {deb_version}; labelled {fake}")
        return fake
    up = re.sub(r"~.*$", "", up)
    parts = up.split(".")
    while len(parts) < 3:
        parts.append("0")
    v = "v" + ".".join(parts[:3])
    major = int(parts[0])
    if major >= 2 and not re.search(r"/v\d+$|\.v\d+$", path):
        v += "+incompatible"
    return v


def parse_requires(gomod: str) -> list[tuple[str, str]]:
    """(module, version) pairs from a go.mod's require directives."""
    out, block = [], False
    for line in gomod.splitlines():
        line = line.split("//", 1)[0].strip()
        if not line:
            continue
        if block:
            if line == ")":
                block = False
                continue
            f = line.split()
            if len(f) >= 2:
                out.append((f[0].strip('"'), f[1]))
        elif line.startswith("require ("):
            block = True
        elif line.startswith("require "):
            f = line.split()
            if len(f) >= 3:
                out.append((f[1].strip('"'), f[2]))
    return out


def module_line(gomod: str) -> str | None:
    m = re.search(r"^module\s+\"?([^\s\"]+)\"?", gomod, re.M)
    return m[1] if m else None


def discover_modules(
    cache: Path, debs: dict[str, Path], extra_requires: list[tuple[str, str]]
) -> list[Module]:
    """Unpack each .deb and find its module roots (go.mod files, or NO_GOMOD entries)."""
    src_root = cache / "src"
    found: list[tuple[str, str, Path, str, str | None]] = []  # (deb, debver, dir, go.mod, synth path)
    for pkg, deb in sorted(debs.items()):
        ver = run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True).stdout.strip()
        dest = src_root / pkg
        if not (dest / ".unpacked").exists() or (dest / ".unpacked").read_text() != ver:
            shutil.rmtree(dest, ignore_errors=True)
            dest.mkdir(parents=True)
            run(["dpkg-deb", "-x", str(deb), str(dest)])
            (dest / ".unpacked").write_text(ver)
        gocode = dest / "usr/share/gocode/src"
        for path, sub in NO_GOMOD.get(pkg, []):
            found.append((pkg, ver, gocode / sub, f"module {path}\n", path))
        for dirpath, _, filenames in os.walk(gocode):  # real dirs only: skips Debian's symlinks
            if "go.mod" in filenames:
                text = (Path(dirpath) / "go.mod").read_text()
                found.append((pkg, ver, Path(dirpath), text, None))
    # every version any go.mod (or the app) asks for, per module
    requires: dict[str, set[str]] = {}
    for _, _, _, gomod, _ in found:
        for mod, v in parse_requires(gomod):
            requires.setdefault(mod, set()).add(v)
    for gomod in load_upstream_gomods().values():
        for mod, v in parse_requires(gomod):
            requires.setdefault(mod, set()).add(v)
    for mod, v in extra_requires:
        requires.setdefault(mod, set()).add(v)
    modules = []
    for pkg, ver, d, gomod, synth in found:
        path = synth or module_line(gomod)
        if not path or "/example" in path or "/internal/" in path or path.endswith("/tools"):
            continue  # examples and helper modules are never needed
        modules.append(Module(path, go_version_for(path, ver, requires), d, None if synth else gomod, pkg))
    return modules, requires


# --------------------------------------------------------------------------- zip + proxy
def zip_files(mod: Module, nested: set[Path]) -> list[tuple[str, Path]]:
    """Files of a module zip: like golang.org/x/mod/zip.CreateFromDir (no VCS dirs, no nested
    modules, no vendor/ except modules.txt, regular files only). Dependencies' tests and testdata
    are left out too: `go test ./...` never runs them, and the proxy stays small."""
    files = []
    for dirpath, dirnames, filenames in os.walk(mod.src):
        dp = Path(dirpath)
        keep = []
        for dn in dirnames:
            sub = dp / dn
            if (
                dn in (".git", ".hg", ".svn", ".bzr", "testdata")
                or sub in nested
                or (sub / "go.mod").exists()
            ):
                continue
            keep.append(dn)
        dirnames[:] = sorted(keep)
        for fn in sorted(filenames):
            p = dp / fn
            rel = p.relative_to(mod.src).as_posix()
            if p.is_symlink() or not p.is_file() or fn.endswith("_test.go"):
                continue
            if rel == "go.mod" and mod.gomod is None:
                continue
            if "/vendor/" in "/" + rel and rel != "vendor/modules.txt":
                continue
            if fn == ".unpacked":
                continue
            files.append((rel, p))
    return files


def remove_tree(path: Path) -> None:
    """rm -rf, including Go's read-only module cache files."""

    def make_writable(func, p, _exc):
        os.chmod(p, 0o700)
        func(p)

    if path.exists():
        for dirpath, dirnames, _ in os.walk(path):
            for d in dirnames:
                os.chmod(os.path.join(dirpath, d), 0o700)
        shutil.rmtree(path, onerror=make_writable)


def write_version(
    proxy: Path, mod: Module, version: str, nested: set[Path], upstream: dict[tuple[str, str], str]
) -> None:
    """Serve Debian's sources of mod under `version`: .info, .mod and .zip (with the upstream
    go.mod of that version when known)."""
    vdir = proxy / escape_path(mod.path) / "@v"
    vdir.mkdir(parents=True, exist_ok=True)
    base = vdir / escape_path(version)
    m = re.match(r"^v0\.0\.0-(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)-", version)
    when = "%s-%s-%sT%s:%s:%sZ" % m.groups() if m else "2000-01-01T00:00:00Z"
    Path(f"{base}.info").write_text(json.dumps({"Version": version, "Time": when}) + "\n")
    gomod = upstream.get((mod.path, version), mod.mod_text)
    Path(f"{base}.mod").write_text(gomod)
    prefix = f"{mod.path}@{version}/"
    tmp = Path(f"{base}.zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        entries = [(rel, p.read_bytes()) for rel, p in zip_files(mod, nested) if rel != "go.mod"]
        if mod.gomod is not None or (mod.path, version) in upstream:
            entries.append(("go.mod", gomod.encode()))
        entries += [
            (f"{sub}/stub.go", text.encode()) for sub, text in STUB_PACKAGES.get(mod.path, {}).items()
        ]
        for rel, data in entries:
            if rel.endswith(".go"):
                for old, new in IMPORT_REWRITES.get(mod.path, []):
                    data = data.replace(old.encode(), new.encode())
            zi = zipfile.ZipInfo(prefix + rel, ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zf.writestr(zi, data)
    tmp.replace(f"{base}.zip")


def synth_version(proxy: Path, path: str, version: str, upstream: dict[tuple[str, str], str]) -> None:
    """A version nobody builds against: its upstream go.mod, else a minimal one, so the module
    graph can be walked."""
    vdir = proxy / escape_path(path) / "@v"
    vdir.mkdir(parents=True, exist_ok=True)
    base = vdir / escape_path(version)
    Path(f"{base}.info").write_text(json.dumps({"Version": version, "Time": "2000-01-01T00:00:00Z"}) + "\n")
    Path(f"{base}.mod").write_text(upstream.get((path, version), f"module {path}\n"))


def build_proxy(cache: Path, require_from: list[Path]) -> Path:
    proxy = cache / "proxy"
    extra: list[tuple[str, str]] = []
    for gm in require_from:
        extra += parse_requires(gm.read_text())
    upstream = load_upstream_gomods()
    stamp_text = json.dumps([STAMP_VERSION, SUITE, DEB_PACKAGES, sorted(extra), sorted(upstream.items())])
    stamp = cache / "proxy.stamp"
    if proxy.is_dir() and stamp.exists() and stamp.read_text() == stamp_text:
        return proxy
    debs = fetch_debs(cache)
    modules, requires = discover_modules(cache, debs, extra)
    # Go caches extracted modules (and an index of them in GOCACHE) by module@version: after a
    # rebuild with different contents, both caches must go.
    for stale in ("gomodcache", "gocache"):
        remove_tree(cache / stale)
    shutil.rmtree(proxy, ignore_errors=True)
    nested = {m.src for m in modules}
    served: dict[str, set[str]] = {}
    for mod in modules:
        # Debian's version plus every version some go.mod asks for (minimal version selection
        # may pick any of them): all carry Debian's sources. Few modules have more than 3.
        labels = {mod.version} | requires.get(mod.path, set())
        for v in sorted(labels, key=semver_key):
            write_version(proxy, mod, v, nested - {mod.src}, upstream)
        served.setdefault(mod.path, set()).update(labels)
        if labels != {mod.version}:
            log(
                f"{mod.path}: Debian {mod.version} also served as {', '.join(sorted(labels - {mod.version}))}"
            )
    for path, versions in requires.items():
        for v in versions:
            if v not in served.get(path, set()):
                synth_version(proxy, path, v, upstream)
                served.setdefault(path, set()).add(v)
    for path, versions in served.items():
        ordered = sorted(versions, key=semver_key)
        releases = [v for v in ordered if "-" not in v.split("+")[0]]
        (proxy / escape_path(path) / "@v" / "list").write_text("".join(v + "\n" for v in releases))
        # "@latest" answers `go get M` for modules with only pseudo-versions (gomemcache)
        latest = proxy / escape_path(path) / "@v" / f"{escape_path(ordered[-1])}.info"
        shutil.copyfile(latest, proxy / escape_path(path) / "@latest")
    stamp.write_text(stamp_text)
    log(f"proxy ready: {proxy} ({len(modules)} Debian modules)")
    return proxy


def env_for(cache: Path, proxy: Path) -> dict[str, str]:
    return {
        "GOPROXY": f"file://{proxy}",
        "GOMODCACHE": str(cache / "gomodcache"),  # own caches: never mixed with real upstream modules
        "GOCACHE": str(cache / "gocache"),
        "GOSUMDB": "off",  # no checksum database offline (go.sum is still checked)
        "GOTOOLCHAIN": "local",  # never try to download another toolchain
    }


def prepare_offline_build(
    app_dir, env: dict[str, str] | None = None, cache: Path | None = None
) -> dict[str, str]:
    """Swap a rendered app's shipped (upstream) go.sum for one matching this proxy and check that
    the shipped one has the same lines; returns the environment for offline go commands. Lives in
    go_offline.py (also a CLI), which documents it; this name is what the test drivers call."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import go_offline

    return go_offline.prepare_offline_build(app_dir, cache=cache, env=env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cache", nargs="?", default=os.path.expanduser("~/.cache/cn-template/goproxy"))
    ap.add_argument("--require-from", action="append", default=[], type=Path, metavar="GO_MOD",
                    help="also serve Debian's sources under every version this go.mod requires")  # fmt: skip
    ap.add_argument("--print-env", action="store_true", help="print export lines for the shell")
    args = ap.parse_args()
    cache = Path(args.cache).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:  # parallel test workers: one builds, others wait
        fcntl.flock(lock, fcntl.LOCK_EX)
        proxy = build_proxy(cache, args.require_from)
    for k, v in env_for(cache, proxy).items():
        print(f"export {k}={shlex.quote(v)}" if args.print_env else f"{k}={v}")


if __name__ == "__main__":
    main()
