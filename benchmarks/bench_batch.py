"""Benchmark `batch` against executing the same notebooks with nbclient (the way nbgrader and Otter grade).

    python benchmarks/bench_batch.py                       # 100 notebooks per set, the three sets
    python benchmarks/bench_batch.py --sets 1-3 --n 20     # quicker
    python benchmarks/bench_batch.py --json figures.json

For each set it writes N student notebooks, one in five with a classic mistake, each student's
answer cells made unique (no two notebooks share them, as in a real class):

  1-3       the lecture's answer notebook up to exercise 3;
  1-4       the whole answer notebook as a student hands it in: exercise 4 trains 200,000 steps,
            then calibrates BatchNorm, evaluates and samples (the grader's quick mode runs 200
            steps of the student's loop, whatever max_steps says);
  1-4-cut   the same with the notebook's loop cut to the quick mode's 200 steps, so that both
            sides train the same number of steps.

then, in the same run:

  batch     `backprop-ninja batch IN --out OUT --jobs J` run as an instructor runs it (a new
            process: its start-up, J warm workers, every output written); each submission in
            its own isolated child, hidden variants included; wall time / N (amortised).
  nbclient  J notebooks at a time, each in a fresh kernel (import torch, build the dataset, run
            every cell), on a sample of the same notebooks; wall time / sample.

Needs `pip install nbclient ipykernel` (not a dependency of the grader). Kernels get
OMP_NUM_THREADS=1, like the grader's workers, so both use J cores.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for extra in (ROOT, ROOT / "tests" / "fixtures"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

import nbformat  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402

import make_fixtures  # noqa: E402  (the lecture's notebook, cell by cell)
from grader import data  # noqa: E402
from grader.training.run import QUICK_STEPS  # noqa: E402

MISTAKES = (  # (cell text, replacement): the lecture's classic slips, one per wrong notebook
    ("dlogprobs[range(n), Yb] = -1.0/n", "dlogprobs[range(n), Yb] = -1.0"),
    ("dlogits /= n", "dlogits /= 1"),
)


ANSWER = re.compile(r"^\s*(d\w+|grads)\s*[-+*/]?=", re.M)  # a cell assigning a gradient


def notebooks(dest: Path, n: int, with_ex4: bool, cut: bool = True) -> None:
    """N student notebooks: the lecture's answers, every fifth with a mistake; `cut`: loops of QUICK_STEPS steps."""
    cells = make_fixtures.lecture()
    if not with_ex4:
        cells = cells[: make_fixtures.EX4 - 1]
    dest.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        nb_cells = []
        for kind, source in cells:
            if kind == "code":
                if cut:
                    source = source.replace("max_steps = 200000", f"max_steps = {QUICK_STEPS}")
                if k % 5 == 4:
                    old, new = MISTAKES[(k // 5) % len(MISTAKES)]
                    source = source.replace(old, new)
                if ANSWER.search(source):  # each student's own answer cells: no two notebooks share their text
                    source = f"# student {k:03d}\n{source}"
                nb_cells.append(new_code_cell(source))
            else:
                nb_cells.append(new_markdown_cell(source))
        nb = new_notebook(cells=nb_cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                   "language": "python"}})
        nbformat.write(nb, dest / f"student{k:03d}.ipynb")


def execute(args: tuple) -> float:
    """Run one notebook in a fresh kernel (nbclient), in `cwd` where names.txt is; its seconds."""
    path, cwd = args
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
    return time.perf_counter() - start


SETS = {"1-3": (False, True), "1-4": (True, False), "1-4-cut": (True, True)}  # (exercise 4, loop cut)


def bench(label: str, n: int, sample: int, jobs: int, names: Path, work: Path) -> dict:
    with_ex4, cut = SETS[label]
    folder = work / label
    notebooks(folder / "in", n, with_ex4, cut)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "grader", "batch", str(folder / "in"), "--out", str(folder / "out"),
                    "--jobs", str(jobs), "--names", str(names), "--quiet"], check=True, stdout=subprocess.DEVNULL)
    batch_s = time.perf_counter() - start
    done = json.loads((folder / "out" / "batch.json").read_text())
    if done["failed"] or done["graded"] != n:
        raise SystemExit(f"{label}: the batch did not grade every notebook: {done['failed']}")
    cwd = folder / "kernel"
    cwd.mkdir()
    shutil.copyfile(names, cwd / "names.txt")
    picked = sorted((folder / "in").glob("*.ipynb"))[:sample]
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        each = list(pool.map(execute, [(str(p), str(cwd)) for p in picked]))
    nbclient_s = time.perf_counter() - start
    row = {"set": f"exercises {label}", "n": n, "jobs": jobs, "batch_total_s": round(batch_s, 2),
           "batch_s_per_submission": round(batch_s / n, 3), "nbclient_sample": len(picked),
           "nbclient_total_s": round(nbclient_s, 2), "nbclient_s_per_submission": round(nbclient_s / len(picked), 3),
           "nbclient_s_per_notebook_kernel": round(sum(each) / len(each), 2)}
    row["ratio"] = round(row["nbclient_s_per_submission"] / row["batch_s_per_submission"], 1)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100, help="submissions per set (default 100)")
    parser.add_argument("--sample", type=int, default=10, help="notebooks nbclient executes per set (default 10)")
    parser.add_argument("--sample-full", type=int, default=2,
                        help="notebooks nbclient executes for 1-4, 200,000 steps each (default 2: ~3 minutes)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="parallelism of both (default: cores)")
    parser.add_argument("--sets", default="1-3,1-4,1-4-cut", help="any of 1-3, 1-4, 1-4-cut (default: all three)")
    parser.add_argument("--names", default=None, help="names.txt (default: $BACKPROP_NINJA_NAMES or the cache)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()
    # the grader's bytecode, as `pip install .` leaves it (PYTHONDONTWRITEBYTECODE would make every process of a
    # source checkout compile its modules again: ~0.15 s each)
    compileall.compile_dir(str(ROOT / "grader"), quiet=1)
    os.environ["OMP_NUM_THREADS"] = "1"  # the kernels: one thread each, like the grader's workers
    names = data.names_path(args.names)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bpn-bench-") as tmp:
        for label in args.sets.split(","):
            if label not in SETS:
                parser.error(f"unknown set {label!r}: choose from {', '.join(SETS)}")
            sample = args.sample_full if label == "1-4" else args.sample
            rows.append(bench(label, args.n, min(sample, args.n), args.jobs, names, Path(tmp)))
            r = rows[-1]
            print(f"{r['set']}: batch {r['batch_s_per_submission']:.3f} s/submission ({r['n']} in {r['batch_total_s']} s), "
                  f"nbclient {r['nbclient_s_per_submission']:.2f} s/submission ({r['nbclient_sample']} in "
                  f"{r['nbclient_total_s']} s), {r['ratio']}x faster", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"cores": os.cpu_count(), "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
