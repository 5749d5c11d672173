"""The terminal view: one message said once, runs of MISSING rows collapsed, cmp lines kept."""
from __future__ import annotations

import io

from rich.console import Console

from grader.report import console
from grader.results import CheckResult, ExerciseResult, SubmissionResult


def printed(result: SubmissionResult) -> str:
    out = io.StringIO()
    console.print_result(result, Console(file=out, width=200, color_system=None, highlight=False))
    return out.getvalue()


def test_a_run_of_missing_gradients_is_one_line():
    names = ["logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes"]
    checks = [CheckResult(n, "pass", True, True, 0.0, max_score=1, score=1) for n in names[:2]]
    checks += [CheckResult(n, "missing", message=f"d{n} is None: not attempted yet") for n in names[2:]]
    checks.append(CheckResult("W2", "fail", False, False, 0.5, message="dW2 is wrong"))
    text = printed(SubmissionResult("s", exercises=[ExerciseResult(1, "one by one", checks=checks)]))
    assert "dcounts_sum_inv … dlogit_maxes: 5 gradients | MISSING" in text
    assert text.count("not attempted yet") == 1 and "dcounts |" not in text
    assert "logprobs        | exact: True" in text and "W2              | exact: False" in text and "dW2 is wrong" in text


def test_two_missing_rows_stay_rows():
    checks = [CheckResult(n, "missing", message=f"d{n} is None: not attempted yet") for n in ("W1", "b1")]
    text = printed(SubmissionResult("s", exercises=[ExerciseResult(1, "one by one", checks=checks)]))
    assert text.count("MISSING") == 2


def test_an_error_is_not_repeated_as_a_note():
    result = SubmissionResult("x.txt", notes=["x.txt: no exercise found"], error="x.txt: no exercise found")
    text = printed(result)
    assert text.count("no exercise found") == 1 and "could not grade" in text
