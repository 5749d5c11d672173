"""The scorecard renders every field of the results, escaped, with no network access."""
from __future__ import annotations

from grader.report import scorecard as report
from grader.results import CheckResult, ExerciseResult, SubmissionResult


def sample():
    checks = [CheckResult("logits", "pass", True, True, 0.0, [32, 27], [32, 27], "exact", 5, 5),
              CheckResult("hprebn", "fail", False, True, 1e-3, [1, 64], [32, 64], "shape <b>bad</b>", 0, 5)]
    ex = ExerciseResult(2, "cross-entropy in one go", checks, error="line 3: ZeroDivisionError",
                        output="<script>alert(1)</script>", notes=["dlogits is written 2 times"], source="alice.py")
    return SubmissionResult("alice.py", [ex], notes=["a note"])


def test_scorecard_shows_everything_and_escapes_student_text():
    html = report.scorecard_html(sample())
    for text in ("5 / 10", "dlogits", "dhprebn", "(1, 64)", "(32, 64)", "line 3: ZeroDivisionError",
                 "dlogits is written 2 times", "alice.py", "a note", "maxdiff"):
        assert text in html, text
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "shape &lt;b&gt;bad&lt;/b&gt;" in html


def test_scorecard_is_self_contained_and_mobile_ready():
    html = report.scorecard_html(sample())
    assert "<style>" in html and 'name="viewport"' in html and "@media" in html
    assert "src=\"http" not in html and "href=\"http" not in html and "<link" not in html


def test_json_totals():
    d = sample().to_dict()
    assert d["score"] == 5 and d["max_score"] == 10 and d["exercises"][0]["status"] == "partial"
    assert d["exercises"][0]["checks"][1]["expected_shape"] == [32, 64]


def test_results_are_readable_by_their_owner_only(tmp_path):
    """0600 files in 0700 folders: a student's run, under a uid of its own, cannot read classmates' results."""
    import stat

    path = report.write_json(sample(), tmp_path / "out" / "alice" / "result.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
