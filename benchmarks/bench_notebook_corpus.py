"""Grade every fixture notebook of issue 13's layouts (tests/fixtures/layouts.py) and compare with its expected scores.

    python benchmarks/bench_notebook_corpus.py            # all of them
    python benchmarks/bench_notebook_corpus.py l3_yb l4   # those whose name starts with one of these

Prints, per notebook and exercise, expected vs got (an exercise not expected scores 0), then the number of
mismatches and the time taken; exits 1 when any score differs.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
for place in (ROOT, FIXTURES):
    if str(place) not in sys.path:
        sys.path.insert(0, str(place))

from grader.grading import Grader  # noqa: E402
from layouts import EXPECTED, folder_cases  # noqa: E402


def scores(result) -> dict[int, float]:
    return {ex.id: ex.score for ex in result.exercises}


def main(prefixes: list[str]) -> int:
    cases = {name: ([FIXTURES / "notebooks" / name], expected) for name, expected in EXPECTED.items()}
    cases.update(folder_cases())
    cases = {k: v for k, v in cases.items() if not prefixes or k.startswith(tuple(prefixes))}
    mismatches, start = 0, time.perf_counter()
    with Grader() as grader:
        print(f"{'notebook':34s} {'ex':>2s} {'expected':>8s} {'got':>6s}")
        for name, (paths, expected) in cases.items():
            t0 = time.perf_counter()
            got = scores(grader.grade(paths))
            for ex in (1, 2, 3, 4):
                want, have = expected.get(ex, 0), got.get(ex, 0.0)
                bad = want != have
                mismatches += bad
                print(f"{name:34s} {ex:2d} {want:8g} {have:6g}{'   MISMATCH' if bad else ''}")
            print(f"{'':34s}    ({time.perf_counter() - t0:.1f} s)")
    print(f"{len(cases)} submissions, {mismatches} mismatches, {time.perf_counter() - start:.1f} s")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
