"""Grade the whole hostile suite as one batch, a correct submission after each hostile one, and time it.

    python benchmarks/bench_hostile.py                    # every case in tests/hostile, 2 s time limit
    python benchmarks/bench_hostile.py --only fork_bomb segfault --seconds 5
    python benchmarks/bench_hostile.py --out results/     # also writes results/hostile-results.json

Each case is a student's file in tests/hostile/ (its header names the exercise and the expected
verdict; tests/sandbox/test_hostile.py checks them). One Grader, so one warm worker, grades them one after
the other; after every hostile file the reference solution of the same exercise is graded, as a
batch would grade the next student. Placeholders in a case (__OUTPUT_DIR__, __GRADER_DIR__,
__PORT__) are filled in before grading. The process exits 0 when the batch finished, whatever the
verdicts; a grader failure (an exception) is recorded for that case and makes it exit 1.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader.exercises import get as get_exercise  # noqa: E402
from grader.grading import Grader, Options  # noqa: E402
from grader.sandbox.limits import Limits  # noqa: E402
from grader.sandbox.runner import GraderError  # noqa: E402

CASES = ROOT / "tests" / "hostile"
SOLUTIONS = ROOT / "solutions"
EX4_STEPS = 1100  # exercise 4's quick run, shortened: checkpoints 0, 10 and 1,000 and the training check still happen
EXERCISE_LINE = re.compile(r"^#\s*exercise:\s*(\d)\s*$", re.M)


def case_exercise(text: str) -> int:
    """The exercise a case is graded as (its `# exercise: N` header line)."""
    match = EXERCISE_LINE.search(text)
    if not match:
        raise ValueError("a hostile case needs a '# exercise: N' header line")
    return int(match.group(1))


def fill(text: str, values: dict) -> str:
    for key, value in values.items():
        text = text.replace(f"__{key}__", str(value))
    return text


def bench_limits(seconds: float, memory_mb: int) -> Limits:
    """Small limits, so that the time- and memory-bound cases cost little (the frame limit too)."""
    return Limits(seconds=seconds, memory_mb=memory_mb, frame_bytes=16 * 1024 * 1024)


def run(names: list[str], seconds: float, memory_mb: int, out: Path, port: int) -> dict:
    """Grade every case (and a correct submission after each); return what happened, as plain data."""
    values = {"OUTPUT_DIR": out, "GRADER_DIR": ROOT / "grader", "PORT": port}
    cases = sorted(CASES.glob("*.py")) if not names else [CASES / f"{n}.py" for n in names]
    report = {"limits": bench_limits(seconds, memory_mb).to_dict(), "cases": [], "failures": []}
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bpn-hostile-") as tmp, \
            Grader(options=Options(limits=bench_limits(seconds, memory_mb), ex4={"steps": EX4_STEPS})) as grader:
        grader.sandbox.warm()
        for case in cases:
            text = case.read_text()
            exercise = case_exercise(text)
            path = Path(tmp) / case.name
            path.write_text(fill(text, values))
            entry = {"case": case.stem, "exercise": exercise}
            t0 = time.monotonic()
            try:
                entry["result"] = grader.grade([path], exercise).to_dict()
            except GraderError as exc:
                entry["grader_error"] = str(exc)
                report["failures"].append(case.stem)
            entry["seconds"] = round(time.monotonic() - t0, 3)
            t0 = time.monotonic()
            correct = grader.grade([SOLUTIONS / get_exercise(exercise).stub], exercise)
            entry["correct_after"] = {"score": correct.score, "max_score": correct.max_score,
                                      "seconds": round(time.monotonic() - t0, 3)}
            report["cases"].append(entry)
    report["seconds"] = round(time.monotonic() - start, 2)
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="case names (file stems) to run")
    parser.add_argument("--seconds", type=float, default=2.0, help="time limit per run (default 2)")
    parser.add_argument("--memory-mb", type=int, default=512, help="memory limit per run (default 512)")
    parser.add_argument("--out", type=Path, default=None, help="output directory (default: a temporary one)")
    parser.add_argument("--port", type=int, default=9, help="a local port for the network case to try")
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="bpn-hostile-out-"))
    out.mkdir(parents=True, exist_ok=True)
    report = run(args.only, args.seconds, args.memory_mb, out.resolve(), args.port)
    for entry in report["cases"]:
        res = entry.get("result", {})
        ex = (res.get("exercises") or [{}])[0]
        after = entry["correct_after"]
        verdict = entry.get("grader_error") or f"{ex.get('status')} {ex.get('score', 0):g}/{ex.get('max_score', 0):g}"
        print(f"{entry['case']:22s} {entry['seconds']:6.2f} s  {verdict:22s} correct after: "
              f"{after['score']:g}/{after['max_score']:g}  {(ex.get('error') or '')[:70]}")
    print(f"{len(report['cases'])} hostile cases (+ a correct submission after each) in {report['seconds']:.1f} s")
    (out / "hostile-results.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"results: {out / 'hostile-results.json'}")
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
