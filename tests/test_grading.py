"""End to end through the sandbox: solutions score full marks, stubs 0, wrong answers the right verdict."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.report import scorecard as report
from grader.exercises import EX1_NAMES

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS, EXERCISES = ROOT / "solutions", ROOT / "exercises"

SOLUTION_EX1 = (SOLUTIONS / "ex1_backprop_one_by_one.py").read_text()


def statuses(result, exercise):
    return {c.name: c.status for c in result.exercise(exercise).checks}


def test_reference_solutions_score_full_marks(grader):
    result = grader.grade([SOLUTIONS])
    assert {e.id for e in result.exercises} >= {1, 2, 3}
    for ex in result.exercises:
        assert ex.score == ex.max_score > 0, (ex.id, [(c.name, c.message) for c in ex.checks if not c.passed])
    assert result.passed


def test_untouched_stubs_score_zero_without_a_traceback(grader):
    result = grader.grade([EXERCISES])
    assert result.score == 0 and not result.passed
    for ex in result.exercises:
        assert ex.status == "not attempted" and ex.error == ""
        assert all(c.status == "missing" for c in ex.checks)


def test_missing_one_over_n_fails_with_a_hint(grader, write):
    path = write("ex2.py", "dlogits = F.softmax(logits, 1)\ndlogits[range(n), Yb] -= 1\n")
    check = grader.grade([path], exercise=2).exercise(2).checks[0]
    assert check.status == "fail" and "missing 1/n" in check.message


def test_bessel_mistake_in_batchnorm_fails(grader, write):
    code = "dhprebn = bngain*bnvar_inv/n * (n*dhpreact - dhpreact.sum(0) - n/(n)*bnraw*(dhpreact*bnraw).sum(0))\n"
    check = grader.grade([write("ex3.py", code)], exercise=3).exercise(3).checks[0]
    assert check.status == "fail" and check.exact is False


def test_dropped_keepdim_that_broadcasts_back_passes_with_a_note(grader, write):
    """The lecture's own (64,) dbnmeani: it works where the lecture uses it (issue 11)."""
    code = SOLUTION_EX1.replace("dbnmeani = (-dbndiff).sum(0, keepdim=True)", "dbnmeani = (-dbndiff).sum(0)")
    result = grader.grade([write("ex1.py", code)], exercise=1)
    assert all(s == "pass" for s in statuses(result, 1).values())
    check = next(c for c in result.exercise(1).checks if c.name == "bnmeani")
    assert check.shape == [64] and check.expected_shape == [1, 64] and "broadcasts" in check.message


def test_sign_flip_is_named_on_the_first_tensor(grader, write):
    code = SOLUTION_EX1.replace("dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = 1.0 / n")
    check = grader.grade([write("ex1.py", code)], exercise=1).exercise(1).checks[0]
    assert check.name == "logprobs" and check.status == "fail" and "sign is flipped" in check.message


def test_exception_midway_costs_only_the_gradient_whose_statement_raised(grader, write):
    code = SOLUTION_EX1.replace("dh = dlogits @ W2.T", "dh = dlogits @ W2")
    result = grader.grade([write("ex1.py", code)], exercise=1)
    st = statuses(result, 1)
    assert [name for name, s in st.items() if s != "pass"] == ["h"] and st["h"] == "error"
    line = code.splitlines().index("dh = dlogits @ W2") + 1
    h = next(c for c in result.exercise(1).checks if c.name == "h")
    assert h.message.startswith(f"line {line} raised RuntimeError")


def test_hard_coded_batch_size_fails_the_hidden_variant(grader, write):
    code = "dlogits = F.softmax(logits, 1)\ndlogits[range(32), Yb] -= 1\ndlogits /= 32\n"
    check = grader.grade([write("ex2.py", code)], exercise=2).exercise(2).checks[0]
    assert check.status != "pass" and check.exact is False and check.approximate is True
    assert "a batch of 17" in check.message and "1337" not in check.message


@pytest.mark.parametrize("code, words", [
    ("dlogits = logits.tolist()", "Python list"),
    ("dlogits = logits.numpy()", "numpy.ndarray"),
    ("dlogits = 0.0", "plain number"),
    ("dlogits = logits.double()", "dtype torch.float64"),
    ("dlogits = logits / 0 - logits / 0", "NaN"),
])
def test_wrong_kinds_of_answer_get_a_clear_message(grader, write, code, words):
    check = grader.grade([write("ex2.py", code)], exercise=2).exercise(2).checks[0]
    assert check.status in ("fail", "error") and words in check.message


def test_same_submission_twice_gives_identical_json(grader):
    def strip(d):
        if isinstance(d, dict):
            return {k: strip(v) for k, v in d.items() if k not in ("timestamp", "seconds")}
        return [strip(v) for v in d] if isinstance(d, list) else d

    a = json.loads(report.to_json(grader.grade([SOLUTIONS / "ex2_cross_entropy.py"])))
    b = json.loads(report.to_json(grader.grade([SOLUTIONS / "ex2_cross_entropy.py"])))
    assert strip(a) == strip(b)


def test_grading_and_diagnosing_never_import_sympy(tmp_path):
    """torch imports sympy (0.5 s) on the first torch.broadcast_shapes or tensor grad_outputs: the grader uses neither."""
    import os
    import subprocess
    import sys

    code = (ROOT / "solutions" / "ex1_backprop_one_by_one.py").read_text()
    wrong = tmp_path / "ex1.py"
    wrong.write_text(code.replace("dcounts = counts_sum_inv * dprobs", "dcounts = dprobs")  # a branch missing
                     .replace("dbnmeani = (-dbndiff).sum(0, keepdim=True)", "dbnmeani = (-dbndiff).sum(0)"))  # (64,)
    script = ("import sys\nfrom pathlib import Path\nfrom grader.grading import Grader\nwith Grader() as g:\n"
              f"    ex = g.grade([Path({str(wrong)!r})], exercise=1).exercise(1)\n"
              "print(ex.score, any(c.diagnosis for c in ex.checks), 'sympy' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    score, diagnosed, sympy = out.stdout.split()
    assert float(score) < 26 and diagnosed == "True" and sympy == "False", out.stdout
