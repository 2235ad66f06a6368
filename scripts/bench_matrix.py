#!/usr/bin/env python3
"""Benchmark: wall time of the whole render + lint matrix, as CI runs it (target <= 5 min on 2 cores).

    .venv/bin/python scripts/bench_matrix.py [--workers 2] [pytest arguments...]

Runs `pytest -m "render or lint" -n 2` (as scripts/test does) from this working tree and prints the wall
time, the test count and the verdict. Results also go to .benchmarks/matrix.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="2")
    args, extra = parser.parse_known_args()
    cmd = [sys.executable, "-m", "pytest", "-m", "render or lint", "-n", args.workers, "-q", *extra]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    summary = next((line for line in reversed(proc.stdout.splitlines()) if " in " in line), "")
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", summary)) else 0
    print(f"{'render + lint matrix (' + args.workers + ' workers)':<36} {'seconds':>8}")
    print(f"{'wall time':<36} {seconds:>8.1f}")
    print(f"{'tests passed':<36} {passed:>8}")
    print(f"{'pytest says':<36} {summary.strip('= ')}")
    # Other work on the machine stretches wall time: say how busy it was.
    print(f"{'load average (1, 5, 15 min) at end':<36} {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    verdict = "met" if seconds <= TARGET_SECONDS and proc.returncode == 0 else "MISSED"
    print(f"{'target':<36} <= {TARGET_SECONDS} s: {verdict}")
    out = ROOT / ".benchmarks" / "matrix.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "seconds": round(seconds, 1),
                "passed": passed,
                "exit": proc.returncode,
                "load": os.getloadavg(),
            },
            indent=2,
        )
        + "\n"
    )
    if proc.returncode != 0:
        print(proc.stdout[-5000:], proc.stderr[-2000:], sep="\n")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
