#!/usr/bin/env python3
"""Benchmark the generated images on the stand-in bases; prints a table (each ratio from one run).

    .venv/bin/python scripts/bench_images.py [--runs 5] [--runtimes python node]

Per available runtime (or those named), rendered from this working tree with the Copier CLI; what a
runtime is judged against is its catalog row's `bench`:
- image size, with no data services and with the default ones;
- start-to-ready: from `podman start` and from the container process's start, to the first 200 on
  /readyz (no data services, so ready means the app itself is up); median of --runs; judged on the
  process-to-ready time against `start_seconds` (1 s; Go 0.2 s);
- rebuild time after a source-only change (`source_edit`) against the build without layer cache
  (`--no-cache`; its downloads still come from the Dockerfile's cache mounts, so it measures the
  build's own work, not the network); median of --runs edits; judged where the row has
  `rebuild_ratio` (Python: <= 0.25x);
- what the image leaves behind: compilers, build tools, installers, package caches.
Where the row names a `reference` (Python: `docker init`'s one-stage Dockerfile, pip into the system
site-packages on `python:3.13-slim`'s stand-in, same lock; scripts/bench/<runtime>/reference.Dockerfile):
its size and leftovers beside the generated image's; target <= 0.9x.
Needs root (podman here). Results also go to .benchmarks/images.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import imagekit  # noqa: E402
import standin_bases  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from matrix import copy_working_tree  # noqa: E402

ROOT = imagekit.ROOT
SIZE_TARGET = 0.9
BENCH = ROOT / "scripts" / "bench"


def render(src: Path, dest: Path, answers: dict) -> Path:
    data = dest.with_suffix(".answers.json")
    data.write_text(json.dumps(answers))  # JSON is YAML: Copier's --data-file reads it
    copier = Path(sys.executable).with_name("copier")
    subprocess.run(
        [
            str(copier),
            "copy",
            "--quiet",
            "--trust",
            "--defaults",
            "--data-file",
            str(data),
            str(src),
            str(dest),
        ],
        check=True,
        capture_output=True,
    )
    return dest / "app"


def start_to_ready(image: str, runtime: dict, app_port: int, runs: int) -> tuple[float, float]:
    """Medians of (podman start -> /readyz 200, container process start -> /readyz 200), seconds."""
    from_start, from_process = [], []
    for _ in range(runs):
        port = imagekit.free_port()
        name = f"cn-bench-{port}"
        imagekit.podman(
            "create", "--name", name, *imagekit.hardened_run_args(runtime["tmp_dirs"]),
            "--publish", f"127.0.0.1:{port}:{app_port}", image,
        )  # fmt: skip
        try:
            begun = time.time()
            # (podman logs that it cannot reach systemd for HEALTHCHECK timers: nothing to show)
            proc = subprocess.Popen(
                ["podman", "start", name],
                env=imagekit.env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            url = f"http://127.0.0.1:{port}/readyz"
            deadline = begun + 30
            while imagekit.http_status(url, timeout=1.0) != 200:
                if time.time() > deadline:
                    raise RuntimeError(f"{image} not ready in 30 s")
                time.sleep(0.005)
            ready = time.time()
            proc.wait()
            started = imagekit.podman("inspect", "--format", "{{.State.StartedAt.UnixNano}}", name).stdout
            from_start.append(ready - begun)
            from_process.append(ready - int(started.strip()) / 1e9)
        finally:
            imagekit.podman("rm", "--force", "--time", "0", name, check=False)
    return statistics.median(from_start), statistics.median(from_process)


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def leftover_summary(image: str) -> str:
    with imagekit.mounted(image) as root:
        found = imagekit.leftovers(root)
    parts = [f"{kind}: {', '.join(paths)}" for kind, paths in found.items() if paths]
    return "; ".join(parts) or "none (no compiler, build tool, installer or package cache)"


def bench_runtime(name: str, runtime: dict, src: Path, base: Path, runs: int) -> dict:
    """Every measurement of one runtime's images."""
    services = [s for s in ("postgres", "redis") if s in runtime.get("services", ())]
    bare = render(src, base / f"{name}-bare", {"runtime": name, "data_services": []})
    full = render(src, base / f"{name}-default", {"runtime": name, "data_services": services})
    app_port = int(next(line.split()[1] for line in (bare / "Dockerfile").read_text().splitlines()
                        if line.startswith("EXPOSE ")))  # fmt: skip
    bare_tag, full_tag = f"localhost/cn-bench/{name}:bare", f"localhost/cn-bench/{name}:default"
    imagekit.build(bare, bare_tag)
    cold = imagekit.build(full, full_tag, no_cache=True)
    from_start, from_process = start_to_ready(bare_tag, runtime, app_port, runs)
    row = {
        "size_bare": imagekit.size(bare_tag),
        "size_default": imagekit.size(full_tag),
        "services": services,
        "start_to_ready_podman": round(from_start, 3),
        "start_to_ready_process": round(from_process, 3),
        "cold_build_seconds": round(cold, 1),
    }
    # Rebuild after a source-only change: dependency layers come from the cache. Here the build
    # after a `--no-cache` one did not reuse its layers (it took as long): one plain build first,
    # so the rebuilds reuse layers of this run, never ones an earlier run happened to leave.
    imagekit.build(full, full_tag)
    rebuilds = []
    pattern, comment = runtime["bench"]["source_edit"]
    source = sorted(full.glob(pattern))[0]
    for i in range(runs):
        # Unique across invocations: an edit seen before would come from the layer cache.
        source.write_text(source.read_text() + comment.format(i=f"{i} {time.time_ns()}"))
        rebuilds.append(imagekit.build(full, full_tag))
    row["rebuild_seconds"] = round(statistics.median(rebuilds), 2)
    row["rebuild_ratio"] = round(row["rebuild_seconds"] / cold, 3)
    row["leftovers"] = leftover_summary(full_tag)
    reference = runtime["bench"].get("reference")
    if reference:  # the row's reference: scripts/bench/<runtime>/reference.Dockerfile, the same build context
        ref_file = BENCH / name / "reference.Dockerfile"
        ref_base = next(
            line.split()[1] for line in ref_file.read_text().splitlines() if line.startswith("FROM ")
        )
        standin_bases.ensure(ref_base, reference["standin"])
        ref_tag = f"localhost/cn-bench/{name}:reference"
        imagekit.build(full, ref_tag, dockerfile=ref_file, no_cache=True)
        row["reference"] = reference["name"]
        row["reference_size"] = imagekit.size(ref_tag)
        row["size_ratio"] = round(row["size_default"] / row["reference_size"], 3)
        row["base_size"] = imagekit.size(runtime["run_image"])
        row["reference_base_size"] = imagekit.size(ref_base)
        row["reference_leftovers"] = leftover_summary(ref_tag)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--runtimes", nargs="*")
    args = parser.parse_args()

    catalog = standin_bases.catalog()
    runtimes = args.runtimes or [name for name, rt in catalog.RUNTIMES.items() if rt.get("available")]
    started = time.perf_counter()
    standin_bases.main(runtimes)
    bases_seconds = time.perf_counter() - started
    results: dict = {"bases_seconds": round(bases_seconds, 1), "runtimes": {}}
    rows = []

    with tempfile.TemporaryDirectory(prefix="cn-bench-images-") as tmp:
        base = Path(tmp)
        src = copy_working_tree(base / "template")
        for name in runtimes:
            row = bench_runtime(name, catalog.RUNTIMES[name], src, base, args.runs)
            results["runtimes"][name] = row
            rows.append((name, row))

    print(f"\nstand-in bases ready in {bases_seconds:.0f} s (cached when unchanged)\n")
    print(f"{'runtime':<8} {'size, no services':>18} {'size, ' + 'default':>16} "
          f"{'start->ready (podman start)':>28} {'(process)':>10}  target")  # fmt: skip
    for name, row in rows:
        target = catalog.RUNTIMES[name]["bench"]["start_seconds"]
        print(
            f"{name:<8} {mb(row['size_bare']):>18} {mb(row['size_default']):>16} "
            f"{row['start_to_ready_podman']:>26.3f} s {row['start_to_ready_process']:>8.3f} s  "
            f"< {target} s: {verdict(row['start_to_ready_process'] < target)}"
        )
    for name, row in rows:
        print(f"\n{name}: default services {'+'.join(row['services']) or 'none'}")
        target = catalog.RUNTIMES[name]["bench"].get("rebuild_ratio")
        judged = f"target <= {target}x: {verdict(row['rebuild_ratio'] <= target)}" if target else "no target"
        print(
            f"  rebuild after a source-only change {row['rebuild_seconds']:.1f} s / build without "
            f"layer cache {row['cold_build_seconds']:.1f} s = {row['rebuild_ratio']:.2f}x ({judged})"
        )
        print(f"  left in the image: {row['leftovers']}")
        if "reference_size" in row:
            met = verdict(row["size_ratio"] <= SIZE_TARGET)
            print(
                f"  size {mb(row['size_default'])} / {row['reference']} style {mb(row['reference_size'])} = "
                f"{row['size_ratio']:.2f}x (target <= {SIZE_TARGET}x: {met})"
            )
            base, ref_base = row["base_size"], row["reference_base_size"]
            print(
                f"  base images {mb(base)} / {mb(ref_base)}; added to them: "
                f"{mb(row['size_default'] - base)} / {mb(row['reference_size'] - ref_base)}"
            )
            print(f"  left in the {row['reference']} style image: {row['reference_leftovers']}")
    out = ROOT / ".benchmarks" / "images.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
