"""What one submission's runs of exercises 1-3 cost in the sandbox: nine runs (three exercises x three
variants) in one child, the way `Grader.grade` runs them, against a child of their own for each run.

    python benchmarks/bench_session.py            # 30 submissions of the reference solutions
    python benchmarks/bench_session.py --n 100

Prints the median wall time, as the parent sees it, of a submission's nine runs, of its first run
and of the runs after it, for both ways.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader import data  # noqa: E402
from grader.grading import RUN_ORDER  # noqa: E402
from grader.sandbox.limits import Limits  # noqa: E402
from grader.model import HIDDEN, PUBLIC  # noqa: E402
from grader.sandbox.runner import Sandbox  # noqa: E402
from grader.submissions.reader import load_submission  # noqa: E402

STUBS = {1: "ex1_backprop_one_by_one.py", 2: "ex2_cross_entropy.py", 3: "ex3_batchnorm.py"}


def submission(sandbox: Sandbox, codes: dict, session: str | None) -> list[float]:
    """Seconds of each of the nine runs, in the grader's order; `session` None: a child per run."""
    times = []
    for ex in (e for e in RUN_ORDER if e in codes):
        for variant in (PUBLIC, *HIDDEN):
            start = time.perf_counter()
            out = sandbox.run(ex, codes[ex], variant, Limits(), session=session)
            times.append(time.perf_counter() - start)
            if out.stopped or out.error:
                raise SystemExit(f"exercise {ex} did not run cleanly: {out.stopped or out.error}")
    if session:
        sandbox.end_session()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=30, help="submissions per way (default 30)")
    parser.add_argument("--names", default=None, help="names.txt (default: $BACKPROP_NINJA_NAMES or the cache)")
    args = parser.parse_args()
    codes = {ex: next(iter(load_submission(ROOT / "solutions" / stub).exercises.values())).code
             for ex, stub in STUBS.items()}
    with Sandbox(data.names_path(args.names)) as sandbox:
        sandbox.warm()
        for label, session in (("a child per submission (sessions)", "s"), ("a child per run", None)):
            rows = [submission(sandbox, codes, f"{session}{k}" if session else None) for k in range(args.n + 3)][3:]
            ms = lambda xs: 1e3 * statistics.median(xs)  # noqa: E731
            print(f"{label}: {ms([sum(r) for r in rows]):.1f} ms per submission (9 runs); "
                  f"first run {ms([r[0] for r in rows]):.1f} ms, later runs {ms([x for r in rows for x in r[1:]]):.1f} ms",
                  flush=True)


if __name__ == "__main__":
    main()
