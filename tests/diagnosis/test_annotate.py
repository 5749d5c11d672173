"""The diagnosis reaches a graded result: grading fills the fields, JSON keeps them, the rubric turns hints off."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.course.rubric import describe, fingerprint, from_dict
from grader.grading import Options
from grader.results import SubmissionResult

ROOT = Path(__file__).resolve().parents[2]
EX1 = (ROOT / "solutions" / "ex1_backprop_one_by_one.py").read_text()


@pytest.fixture(scope="module")
def graded(grader, tmp_path_factory):
    path = tmp_path_factory.mktemp("annotate") / "ex1_backprop_one_by_one.py"
    path.write_text(EX1.replace("dC[ix] += demb[k, j]", "dC[ix] = demb[k, j]")
                    .replace("dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h")
                    .replace("dhpreact = (1.0 - h**2) * dh", "dhpreact = dh"))
    return grader.grade([path])


def test_a_failing_check_names_its_cause_and_carries_hints_and_a_map(graded):
    checks = {c.name: c for c in graded.exercises[0].checks}
    assert "transposed" in checks["W2"].diagnosis and checks["W2"].error_map == []  # another shape: no picture
    assert "1 - h**2" in checks["hpreact"].diagnosis
    assert len(checks["hpreact"].hints) == 3 and checks["hpreact"].error_map and checks["hpreact"].error_map_alt
    passing = checks["logprobs"]
    assert passing.status == "pass" and not (passing.diagnosis or passing.hints or passing.error_map)


def test_a_gradient_that_inherits_a_wrong_upstream_gets_no_cause(graded):
    """dbnraw = bngain * dhpreact is right; its value is off only because dhpreact is: no diagnosis is claimed."""
    checks = {c.name: c for c in graded.exercises[0].checks}
    # follow-through: right given right inputs, so it counts, marked inherited, with no cause and no hints
    assert checks["bnraw"].status == "pass" and checks["bnraw"].cause == "inherited" and checks["bnraw"].diagnosis == ""
    assert checks["emb"].status == "pass" and checks["emb"].diagnosis == "" and not checks["emb"].hints
    assert checks["C"].status == "fail" and checks["C"].cause == "own"  # its own `=` where `+=` belongs
    assert checks["hpreact"].status == "fail" and checks["hpreact"].diagnosis  # the one that is wrong is named


def test_the_fields_survive_json(graded):
    again = SubmissionResult.from_dict(graded.to_dict())
    for a, b in zip(graded.exercises[0].checks, again.exercises[0].checks):
        assert (a.diagnosis, a.hints, a.error_map, a.error_map_alt) == (b.diagnosis, b.hints, b.error_map, b.error_map_alt)


def test_hints_off(grader, tmp_path):
    path = tmp_path / "ex2_cross_entropy.py"
    path.write_text("dlogits = F.softmax(logits, 1)\ndlogits /= n\n")
    before = grader.options.hints
    grader.options.hints = False
    try:
        check = grader.grade([path]).exercises[0].checks[0]
    finally:
        grader.options.hints = before
    assert check.hints == [] and "-1" in check.diagnosis and "target" in check.error_map_alt


def test_the_rubric_turns_hints_off_and_only_then_changes_the_fingerprint():
    assert from_dict({}).hints is True
    off = from_dict({"report": {"hints": False}})
    assert off.hints is False and describe(off)["hints"] is False
    assert "hints" not in describe(Options()) and fingerprint(from_dict({})) == fingerprint(Options())
    with pytest.raises(Exception, match="report.hint"):
        from_dict({"report": {"hint": True}})
