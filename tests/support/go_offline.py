#!/usr/bin/env python3
"""Build a rendered Go app offline although its go.sum holds the real upstream hashes.

The Go app template ships the go.sum that proxy.golang.org and sum.golang.org vouch for
(tests/support/go_sum_sources.md lists where each hash was read). Our machines only have the
offline proxy of goproxy.py, whose zips are built from Debian's sources and so hash differently:
`go build` against it would stop with "checksum mismatch". For an offline build, therefore:

    prepare_offline_build(app_dir)   moves the shipped go.sum aside (to go.sum.upstream), regenerates
                                     go.sum with `go mod tidy` against the offline proxy, fails if that
                                     tidy wanted to change go.mod (the shipped go.mod must be tidy), runs
                                     check_shipped_go_sum, and returns the environment for the offline
                                     go commands. goproxy.prepare_offline_build(app_dir, env=...) is the
                                     same function (the name the test drivers look for).
    check_shipped_go_sum(app_dir)    asserts the shipped go.sum has exactly the lines ("<module>
                                     <version>" and "<module> <version>/go.mod" keys) of the regenerated
                                     one, so it is complete even though its zip hashes cannot be verified
                                     here; "/go.mod" hashes must even be equal, since the proxy serves the
                                     upstream go.mod files (goproxy_upstream_gomod.txt), except for the
                                     entries marked "approx" there.
    restore_shipped_go_sum(app_dir)  puts the shipped go.sum back.

CLI (prepare, then check; exit status 1 with the reason on failure):

    python3 tests/support/go_offline.py APP_DIR [--cache DIR] [--print-env]
    eval "$(python3 tests/support/go_offline.py APP_DIR --print-env)"   # then, in APP_DIR:
    gofmt -l . ; go vet ./... ; go test ./... ; go build .               # default -mod=readonly

Needs `go` on PATH (or --go) and what goproxy.py needs the first time (apt-get, dpkg-deb, network
to deb.debian.org); later runs are offline. Standard library only.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import goproxy  # noqa: E402  (sibling module, not a package)

DEFAULT_CACHE = Path(os.path.expanduser("~/.cache/cn-template/goproxy"))
SHIPPED = "go.sum.upstream"  # where prepare_offline_build keeps the shipped go.sum


class OfflineBuildError(Exception):
    """The rendered app cannot be built offline as shipped (go.mod not tidy, go.sum incomplete)."""


def proxy_env(cache: Path | None = None) -> dict[str, str]:
    """Build (or reuse) the offline proxy in `cache`; return GOPROXY, GOMODCACHE, GOCACHE, GOSUMDB,
    GOTOOLCHAIN for it. Parallel callers share one cache (file lock), as with goproxy.py."""
    cache = (cache or DEFAULT_CACHE).resolve()
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proxy = goproxy.build_proxy(cache, [])
    return goproxy.env_for(cache, proxy)


def go_sum_lines(path: Path) -> dict[str, str]:
    """go.sum key ("<module> <version>" or "<module> <version>/go.mod") -> h1: hash."""
    out = {}
    for line in path.read_text().splitlines():
        f = line.split()
        if len(f) == 3:
            out[f"{f[0]} {f[1]}"] = f[2]
    return out


def prepare_offline_build(
    app_dir: Path | str,
    cache: Path | None = None,
    go: str = "go",
    env: dict[str, str] | None = None,
    check: bool = True,
) -> dict[str, str]:
    """Make a rendered app buildable against the offline proxy; return the environment to use.

    Moves the shipped go.sum to go.sum.upstream (kept if already there: the call is repeatable) and
    writes a go.sum for the offline proxy with `go mod tidy`. Raises OfflineBuildError, with go.mod
    restored, if tidy had to change go.mod: the shipped go.mod must already be what tidy writes.
    Then, unless check=False, runs check_shipped_go_sum.

    env: an environment that already points at the proxy (GOPROXY, GOMODCACHE, ... and a PATH with
    go, as goproxy.py --print-env gives); without it the proxy in `cache` is built or reused.
    """
    app = Path(app_dir)
    if env is None:
        env = {**os.environ, **proxy_env(cache)}
    env = {k: v for k, v in env.items() if k != "GOFLAGS"}  # no -mod=vendor or the like for tidy
    shipped, gosum, gomod = app / SHIPPED, app / "go.sum", app / "go.mod"
    if not shipped.exists():
        if not gosum.exists():
            raise OfflineBuildError(f"{app}: no go.sum to set aside")
        gosum.replace(shipped)
    gosum.unlink(missing_ok=True)
    before = gomod.read_text()
    r = subprocess.run([go, "mod", "tidy"], cwd=app, env=env, capture_output=True, text=True)
    if r.returncode:
        gomod.write_text(before)
        raise OfflineBuildError(f"{app}: go mod tidy against the offline proxy failed:\n{r.stderr}")
    if gomod.read_text() != before:
        after = gomod.read_text()
        gomod.write_text(before)
        raise OfflineBuildError(f"{app}: go.mod is not tidy; go mod tidy wrote:\n{after}")
    if check:
        check_shipped_go_sum(app)
    return env


def check_shipped_go_sum(app_dir: Path | str) -> dict[str, int]:
    """Assert that the shipped go.sum (go.sum.upstream) and the offline one have the same keys, and
    the same "/go.mod" hashes except for go.mod files goproxy only approximates. Returns counts."""
    app = Path(app_dir)
    shipped, local = go_sum_lines(app / SHIPPED), go_sum_lines(app / "go.sum")
    problems = []
    if missing := sorted(local.keys() - shipped.keys()):
        problems.append("missing from the shipped go.sum:\n  " + "\n  ".join(missing))
    if extra := sorted(shipped.keys() - local.keys()):
        problems.append("in the shipped go.sum but not needed:\n  " + "\n  ".join(extra))
    approx = approx_gomods()
    differ = [
        f"{k} shipped {shipped[k]} offline {local[k]}"
        for k in sorted(shipped.keys() & local.keys())
        if k.endswith("/go.mod")
        and shipped[k] != local[k]
        and tuple(k[: -len("/go.mod")].split()) not in approx
    ]
    if differ:
        problems.append(
            "/go.mod hashes differ (the offline proxy serves another go.mod than upstream):\n  "
            + "\n  ".join(differ)
        )
    if problems:
        raise OfflineBuildError(
            f"{app}: shipped go.sum does not match the offline one\n" + "\n".join(problems)
        )
    return {
        "lines": len(shipped),
        "zip_hashes_upstream_only": sum(
            1 for k in shipped if not k.endswith("/go.mod") and shipped[k] != local[k]
        ),
    }


def approx_gomods() -> set[tuple[str, str]]:
    """(module, version) of the go.mod files goproxy serves reconstructed, not byte for byte."""
    text = goproxy.UPSTREAM_GOMOD_FILE.read_text() if goproxy.UPSTREAM_GOMOD_FILE.exists() else ""
    return {
        (f[1], f[2])
        for f in (
            line.split()
            for line in text.splitlines()
            if line.startswith("-- ") and line.endswith(" approx --")
        )
    }


def restore_shipped_go_sum(app_dir: Path | str) -> None:
    """Undo prepare_offline_build's go.sum swap (the offline go.sum is discarded)."""
    app = Path(app_dir)
    if (app / SHIPPED).exists():
        (app / SHIPPED).replace(app / "go.sum")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("app_dir", type=Path, help="a rendered Go app (go.mod, go.sum, *.go)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="goproxy.py cache dir")
    ap.add_argument("--go", default=shutil.which("go") or "go", help="go binary")
    ap.add_argument("--print-env", action="store_true", help="print export lines for the shell")
    args = ap.parse_args()
    try:
        env = prepare_offline_build(args.app_dir, args.cache, args.go, check=False)
        counts = check_shipped_go_sum(args.app_dir)
    except OfflineBuildError as e:
        sys.exit(f"go_offline: {e}")
    print(
        f"go_offline: {args.app_dir}: go.sum swapped for the offline one; shipped go.sum complete "
        f"({counts['lines']} lines, {counts['zip_hashes_upstream_only']} zip hashes differ from the "
        f"Debian-built zips, as expected)",
        file=sys.stderr,
    )
    for k in goproxy.env_for(args.cache.resolve(), args.cache.resolve() / "proxy"):
        print(f"export {k}={shlex.quote(env[k])}" if args.print_env else f"{k}={env[k]}")


if __name__ == "__main__":
    main()
