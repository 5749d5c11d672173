"""Grade a folder of students' notebooks and set each verdict beside what the student's own `cmp` printed.

    python benchmarks/bench_student_cmp.py FOLDER            # every .ipynb in FOLDER
    python benchmarks/bench_student_cmp.py FOLDER --quiet    # the totals only

A notebook handed in with its outputs carries the lecture's `cmp` lines ("logprobs | exact: True |
approximate: True | maxdiff: 0.0"): the student's own check, in their own session. This reads them from
the saved outputs (or from NAME.cmp.json beside a notebook saved without outputs: a list of
{"cell": 0-based cell index, "lines": [...]}), grades the notebook as the grader does (every cell in
order, as Jupyter runs them), and lists every gradient where the two disagree, with the grader's
message. A disagreement is not a grader error by itself: a session run out of order, output left from
an older version of a cell, a (1, 64) answer that `torch.allclose` broadcasts, a size hard-coded for
the public batch, or allclose's fixed atol=1e-8 all make the two differ on purpose; the listing is for
reading. Nothing of the notebooks is kept. Needs BACKPROP_NINJA_NAMES (or the download cache).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from grader.grading import Grader  # noqa: E402
from grader.submissions.reader import SubmissionError, load_submission  # noqa: E402

LINE = re.compile(r"^\s*(\w+)\s*\|\s*exact:?\s*(\w+)\s*\|\s*approx\w*:?\s*(\w+)\s*\|\s*max\s*diff:?\s*(\S+)", re.I)


def student_lines(path: Path) -> list[tuple[int, str]]:
    """(1-based cell number, cmp line) from the notebook's saved outputs, else from NAME.cmp.json."""
    sidecar = path.with_suffix(".cmp.json")
    if sidecar.exists():
        return [(e["cell"] + 1, line) for e in json.loads(sidecar.read_text()) for line in e.get("lines", [])
                if LINE.match(line)]
    nb = nbformat.read(path, as_version=4)
    out = []
    for k, cell in enumerate(nb.cells, 1):
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            text = output.get("text", "") if output.get("output_type") == "stream" else ""
            out += [(k, line) for line in (text if isinstance(text, str) else "".join(text)).splitlines() if LINE.match(line)]
    return out


def compare(grader, path: Path, quiet: bool) -> tuple[int, int, float]:
    """(lines compared, disagreements, score) for one notebook; prints what it finds."""
    try:
        sub = load_submission(path)
    except SubmissionError as exc:
        if not quiet:
            print(f"## {path.stem}: {exc}")
        return 0, 0, 0.0
    cells = {ex: {c for c, _ in code.line_map if c is not None} for ex, code in sub.exercises.items()}
    result = grader.grade([path])
    by_ex = {ex.id: {c.name: c for c in ex.checks} for ex in result.exercises}
    if not quiet:
        print(f"## {path.stem}: {result.score:g}/{result.max_score:g} "
              + " ".join(f"ex{ex.id} {ex.score:g}/{ex.max_score:g}" for ex in result.exercises))
    seen = differ = 0
    for cell, line in student_lines(path):
        name, _, approx, maxdiff = LINE.match(line).groups()
        exercise = next((ex for ex, members in sorted(cells.items()) if cell in members), None)
        check = by_ex.get(exercise, {}).get(name)
        if check is None:
            continue  # a label of the student's own, or a cell no exercise holds (an older version of it)
        seen += 1
        theirs = "pass" if approx.lower() == "true" else "fail"
        if check.status != theirs:
            differ += 1
            if not quiet:
                print(f"   ex{exercise} {name}: their cmp {theirs} (maxdiff {maxdiff}); ours {check.status}: {check.message[:160]}")
    return seen, differ, result.score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()
    paths = sorted(args.folder.glob("*.ipynb"))
    grader = Grader(None, None)
    started, seen, differ = time.perf_counter(), 0, 0
    try:
        for path in paths:
            s, d, _ = compare(grader, path, args.quiet)
            seen, differ = seen + s, differ + d
    finally:
        grader.close()
    print(f"{len(paths)} notebooks, {seen} cmp lines set beside the grader's verdicts, {differ} disagree "
          f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
