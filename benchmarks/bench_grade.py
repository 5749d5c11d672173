"""Time `backprop-ninja grade`, cold, next to a bare `import torch` measured in the same run, as ratios.

Run: python benchmarks/bench_grade.py [--repeat 5]   (needs BACKPROP_NINJA_NAMES or a cached names.txt)
Each figure is a fresh process (Python start-up, importing torch, the worker, grading, exit). The cases
run round-robin, so that a machine shared with other work slows them alike; each ratio is the median
time of its case over the median of `python -c "import torch"`. The first round warms the caches (the
dataset's splits, autograd's exercise-4 trajectory) and the page cache, and is not counted.
"""
from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "tests" / "fixtures" / "notebooks"
GRADE = [sys.executable, "-m", "grader", "grade", "-q"]
CASES = {
    'python -c "import torch"': [sys.executable, "-c", "import torch"],
    "grade one exercise (solutions/ex2)": GRADE + ["solutions/ex2_cross_entropy.py"],
    "grade exercise 4 (solutions/ex4)": GRADE + ["solutions/ex4_training.py"],
    "grade a complete correct notebook": GRADE + [str(NOTEBOOKS / "correct.ipynb")],
    "grade the lecture's answer notebook": GRADE + [str(NOTEBOOKS / "answer.ipynb")],
    "check-solutions (all four)": [sys.executable, "-m", "grader", "check-solutions", "solutions"],
}


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
    parser.add_argument("--only", default="", help="comma-separated words: only the cases whose label has one")
    args = parser.parse_args()
    # the grader's bytecode, as `pip install .` leaves it (PYTHONDONTWRITEBYTECODE would make every process of a
    # source checkout compile its modules again: ~0.15 s each)
    compileall.compile_dir(str(ROOT / "grader"), quiet=1)
    words = [w for w in args.only.split(",") if w]
    cases = {k: v for k, v in CASES.items() if k.startswith("python") or not words or any(w in k for w in words)}
    for cmd in cases.values():
        timed(cmd)  # warm-up round
    times: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(args.repeat):
        for label, cmd in cases.items():
            times[label].append(timed(cmd))
    base = statistics.median(times['python -c "import torch"'])
    print(f"{'command':40s} {'median s':>9s} {'min s':>7s} {'max s':>7s} {'x torch':>8s}  ({args.repeat} cold runs each)")
    for label, ts in times.items():
        med = statistics.median(ts)
        print(f"{label:40s} {med:9.2f} {min(ts):7.2f} {max(ts):7.2f} {med / base:8.2f}")


if __name__ == "__main__":
    main()
