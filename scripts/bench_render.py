#!/usr/bin/env python3
"""Benchmark: wall time of rendering the default answers with the Copier CLI, against a one-file
Copier template rendered the same way in the same run. Prints a table and the ratio (target <= 1.5x).

    .venv/bin/python scripts/bench_render.py [--runs 7] [--from-checkout]

Both are rendered from HEAD of a git repository. Ours from a fresh `git clone` of this checkout (its
objects in one pack, as in any clone a user renders from), unless --from-checkout: then from this
checkout itself, whose loose objects Copier's own clone copies and deletes file by file (a property
of the working copy, not of the template: ~1100 loose objects cost ~0.3 s here).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5


def one_file_template(base: Path) -> Path:
    """The smallest honest baseline: one question, one rendered file, in a git repo like ours."""
    src = base / "one-file"
    src.mkdir()
    (src / "copier.yml").write_text("name:\n  type: str\n  default: hello\n")
    (src / "README.md.jinja").write_text("# {{ name }}\n")
    for cmd in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "one file"],
    ):
        subprocess.run(cmd, cwd=src, check=True)
    return src


def render_seconds(src: Path, dst: Path) -> float:
    copier = Path(sys.executable).with_name("copier")
    cmd = [str(copier), "copy", "--quiet", "--trust", "--defaults", "--vcs-ref", "HEAD", str(src), str(dst)]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    shutil.rmtree(dst)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--from-checkout", action="store_true", help="render from this checkout itself")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        baseline_src = one_file_template(base)
        src = ROOT
        if not args.from_checkout:
            src = base / "cn-template"
            subprocess.run(["git", "clone", "--quiet", f"file://{ROOT}", str(src)], check=True)
        ours, baseline = [], []
        render_seconds(src, base / "warm")  # warm the filesystem and import caches once
        for _ in range(args.runs):  # interleaved, so machine load hits both alike
            ours.append(render_seconds(src, base / "ours"))
            baseline.append(render_seconds(baseline_src, base / "baseline"))
    files = sum(1 for p in (ROOT / "template").rglob("*") if p.is_file())
    ratio = statistics.median(ours) / statistics.median(baseline)
    source = "this checkout" if args.from_checkout else "a fresh clone of this checkout"
    print(f"cn-template rendered from {source}, at HEAD")
    print(f"{'render (median of ' + str(args.runs) + ')':<32} {'seconds':>8}")
    print(f"{'cn-template default (' + str(files) + ' files)':<32} {statistics.median(ours):>8.3f}")
    print(f"{'one-file Copier template':<32} {statistics.median(baseline):>8.3f}")
    print(f"{'ratio':<32} {ratio:>7.2f}x  (target <= {TARGET}x: {'met' if ratio <= TARGET else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
