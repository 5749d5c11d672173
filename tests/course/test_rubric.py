"""grader/rubric.py: TOML -> Options, its defaults, its errors, and the fingerprint the batch cache uses."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from grader import compare, model
from grader.grading import Options
from grader.sandbox.limits import Limits
from grader.course.rubric import RubricError, describe, fingerprint, from_dict, load_rubric

ROOT = Path(__file__).resolve().parents[2]

FULL = """
[exercises.1]
points = 2
[exercises.1.checks]
dC = 4
logprobs = 0.5
[exercises.2]
points = 10
[tolerance]
policy = "allclose"
rtol = 1e-4
atol = 1e-6
[variants]
hidden = false
[limits]
seconds = 7.5
memory_mb = 1024
[integrity]
zero_exercise = false
[ex4]
steps = 500
"""


@pytest.fixture
def rubric(tmp_path):
    def _write(text: str) -> Path:
        path = tmp_path / "rubric.toml"
        path.write_text(text)
        return path
    return _write


def test_empty_rubric_is_the_defaults(rubric):
    options = load_rubric(rubric(""))
    assert describe(options) == describe(Options())
    assert options.variants == (model.PUBLIC, *model.HIDDEN)
    assert options.limits == Limits()
    assert options.tolerance == compare.Tolerance()
    assert options.integrity_zeroes is True


def test_every_section(rubric):
    options = load_rubric(rubric(FULL))
    assert options.points == {1: 2.0, 2: 10.0}
    assert options.check_points == {(1, "C"): 4.0, (1, "logprobs"): 0.5}
    assert options.tolerance == compare.Tolerance(policy="allclose", rtol=1e-4, atol=1e-6)
    assert options.variants == (model.PUBLIC,)
    assert options.limits.seconds == 7.5 and options.limits.memory_mb == 1024
    assert isinstance(options.limits.memory_mb, int)
    assert options.limits.processes == Limits().processes
    assert options.integrity_zeroes is False
    assert options.ex4 == {"steps": 500}


@pytest.mark.parametrize("text, message", [
    ("[exercise.1]\npoints = 1", "unknown key exercise"),
    ("[exercises.5]\npoints = 1", "there is no exercise '5'"),
    ("[exercises.1]\npoints = -1", "exercises.1.points: must be zero or more"),
    ("[exercises.1]\npoints = 'many'", "exercises.1.points: expected a number"),
    ("[exercises.2.checks]\ndC = 1", "exercise 2 grades no such gradient"),
    ("[tolerance]\npolicy = 'loose'", "tolerance.policy: 'loose' is not one of"),
    ("[variants]\nhidden = 'yes'", "variants.hidden: expected true or false"),
    ("[limits]\nseconds = 0", "limits.seconds: must be positive"),
    ("[limits]\nmemory_mb = 1.5", "limits.memory_mb: expected a whole number"),
    ("[limits]\nsecs = 3", "unknown key limits.secs"),
    ("[integrity]\nzero_exercise = 1", "integrity.zero_exercise: expected true or false"),
    ("limits = 3", "limits: expected a table"),
    ("[ex4]\nsteps = [1, 2]", "ex4.steps: expected a number"),
    ("points = {", "not valid TOML"),
])
def test_invalid_rubrics_name_the_key(rubric, text, message):
    path = rubric(text)
    with pytest.raises(RubricError, match=re.escape(message)) as info:
        load_rubric(path)
    assert str(path) in str(info.value)


def test_unreadable_file(tmp_path):
    with pytest.raises(RubricError, match="cannot read"):
        load_rubric(tmp_path / "missing.toml")


def test_fingerprint_changes_with_what_changes_a_grade(rubric):
    base = fingerprint(Options())
    assert fingerprint(load_rubric(rubric(""))) == base
    assert fingerprint(load_rubric(rubric("[limits]\nseconds = 5"))) != base
    assert fingerprint(load_rubric(rubric("[exercises.3]\npoints = 1"))) != base
    shown = Options()
    shown.ex4 = {"progress": True, "full": False}  # the terminal's looks and a default are not part of a grade
    assert fingerprint(shown) == base
    from grader.cli import build_options

    assert fingerprint(build_options(None)) == base  # what `batch` uses without a rubric


def test_documented_defaults_match_the_code():
    """docs/rubric.md's example rubric is the defaults, key for key, and documents every limit."""
    text = (ROOT / "docs" / "rubric.md").read_text()
    block = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    assert describe(from_dict(tomllib.loads(block))) == describe(Options())
    for name in Limits.__dataclass_fields__:
        assert re.search(rf"^{name} = ", block, re.M), f"docs/rubric.md does not document limits.{name}"


def test_rubric_changes_the_grade(grader, write):
    """Per-check points, the exact policy and integrity_zeroes reach the score."""
    ex2 = write("ex2.py", (ROOT / "solutions" / "ex2_cross_entropy.py").read_text())
    saved = grader.options
    try:
        grader.options = from_dict({"exercises": {"2": {"checks": {"dlogits": 3}}}, "variants": {"hidden": False}})
        result = grader.grade([ex2])
        assert (result.score, result.max_score) == (3.0, 3.0)
        grader.options = from_dict({"tolerance": {"policy": "exact"}, "variants": {"hidden": False}})
        check = grader.grade([ex2]).exercises[0].checks[0]
        assert check.status == ("pass" if check.exact else "fail")
        if not check.exact:
            assert "bit-exact" in check.message
    finally:
        grader.options = saved
