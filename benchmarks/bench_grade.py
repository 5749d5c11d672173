"""Time `backprop-ninja grade` on the reference solutions, cold, next to a bare `import torch`.

Run: python benchmarks/bench_grade.py [--repeat 5]   (needs BACKPROP_NINJA_NAMES or a cached names.txt)
Each figure is a fresh process, so it includes Python start-up and importing torch.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    cases = {
        'python -c "import torch"': [sys.executable, "-c", "import torch"],
        "grade solutions/ex2 (1 exercise)": [sys.executable, "-m", "grader", "grade", "-q", "solutions/ex2_cross_entropy.py"],
        "grade solutions/ex1 (26 gradients)": [sys.executable, "-m", "grader", "grade", "-q", "solutions/ex1_backprop_one_by_one.py"],
        "check-solutions (all)": [sys.executable, "-m", "grader", "check-solutions", "solutions"],
    }
    print(f"{'command':40s} {'median s':>9s} {'min s':>7s}  ({args.repeat} cold runs each)")
    for label, cmd in cases.items():
        times = [timed(cmd) for _ in range(args.repeat)]
        print(f"{label:40s} {statistics.median(times):9.2f} {min(times):7.2f}")


if __name__ == "__main__":
    main()
