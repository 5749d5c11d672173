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


def test_batch_scorecards_name_the_student_and_use_the_class_total(tmp_path):
    """A batch rewrites each scorecard with the roster's name and ID, out of grades.csv's max."""
    import csv

    from grader.course.classreport import write_scorecards
    from grader.course.export import write_grades_csv
    from grader.course.identity import Entry, Person
    from grader.course.summary import summarise
    from grader.options import Options

    ex3 = ExerciseResult(3, "batchnorm in one go", [CheckResult("hprebn", "fail", False, False, 0.5, max_score=5)])
    ex1 = ExerciseResult(1, "one by one", [CheckResult("W2", "pass", True, True, 0.0, max_score=26, score=26)])
    entries = [Entry("bob", "canvas", "bob", [Person("Bob Tables", "S1002")]), Entry("ada", "folder", "ada")]
    records = {"bob": {"result": SubmissionResult("ex3_batchnorm.py", [ex3]).to_dict()},
               "ada": {"result": SubmissionResult("ex1.py", [ex1]).to_dict()}}
    summary = summarise(entries, records, [], Options())
    write_scorecards(summary, records, tmp_path)
    write_grades_csv(summary, tmp_path / "grades.csv")
    html = (tmp_path / "bob.html").read_text()
    top = next(csv.DictReader((tmp_path / "grades.csv").open()))["max"]
    assert "<title>Scorecard · Bob Tables (S1002)</title>" in html and "scorecard · Bob Tables (S1002)</h1>" in html
    assert f"0 / {top}</span>" in html and top == "31"  # not 0 / 5: exercise 1, which ada submitted, counts too
    assert "Exercise 1: backprop through every variable, one by one" in html and "not submitted" in html
    assert "<title>Scorecard · ada</title>" in (tmp_path / "ada.html").read_text()


def test_a_scorecard_that_cannot_be_written_is_reported_and_the_others_are_written(tmp_path):
    """Scorecards are rendered from the records at the end of a batch: one that fails stops nobody else's."""
    from grader.course.classreport import write_scorecards
    from grader.course.identity import Entry
    from grader.course.summary import summarise
    from grader.options import Options

    ex1 = ExerciseResult(1, "one by one", [CheckResult("W2", "pass", True, True, 0.0, max_score=26, score=26)])
    entries = [Entry("ada", "folder", "ada"), Entry("bob", "folder", "bob")]
    records = {"ada": {"result": SubmissionResult("ex1.py", [ex1]).to_dict()},
               "bob": {"result": SubmissionResult("ex1.py", [ex1]).to_dict()}}
    summary = summarise(entries, records, [], Options())
    (tmp_path / "ada.html").mkdir()  # a folder where ada's scorecard goes: writing it fails
    failed = write_scorecards(summary, records, tmp_path)
    assert [key for key, _ in failed] == ["ada"] and "could not write the scorecard" in failed[0][1]
    assert "<title>Scorecard · bob</title>" in (tmp_path / "bob.html").read_text()
