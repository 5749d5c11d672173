"""The batch's job processes (grader/course/jobs.py): real spawned job processes, each with its warm Grader."""
from __future__ import annotations

from pathlib import Path

from grader.course import jobs
from grader.course.work import payload
from grader.options import Options

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "ex2_cross_entropy.py"


def test_a_job_process_gets_its_next_submission_before_the_last_result_is_handled(names_path):
    """on_result (saving a record, drawing error maps) must not leave the job process idle: by the time it runs,
    the job process that sent the result has already been handed the next submission."""
    taken, seen = [], []

    def submissions():
        for key in ("a", "b", "c"):
            taken.append(key)
            yield payload(key, [SOLUTION.name], [SOLUTION], exercise=2)

    def on_result(job, result, error):
        assert error is None and result["exercises"][0]["score"] == result["exercises"][0]["max_score"]
        seen.append((job["key"], list(taken)))

    jobs.run(submissions(), 1, names_path, Options(), on_result, seconds=120.0)
    assert seen == [("a", ["a", "b"]), ("b", ["a", "b", "c"]), ("c", ["a", "b", "c"])]
