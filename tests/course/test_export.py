"""grader/export.py (grades.csv, Gradescope, JUnit) and grader/summary.py, on real graded results."""
from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from grader.course import export
from grader.grading import Options
from grader.course.identity import Entry, Person
from grader.results import SubmissionResult
from grader.course.summary import summarise

ROOT = Path(__file__).resolve().parents[2]
SOL = ROOT / "solutions"


@pytest.fixture(scope="module")
def graded(grader, tmp_path_factory):
    """Three real results: everything right, exercise 1 partly wrong, and an autograd user."""
    folder = tmp_path_factory.mktemp("export")
    ex1 = (SOL / "ex1_backprop_one_by_one.py").read_text().replace("dbnmeani = (-dbndiff).sum(0, keepdim=True)",
                                                                      "dbnmeani = (-dbndiff).sum(0)")
    files = {
        "right": {"ex2.py": (SOL / "ex2_cross_entropy.py").read_text(), "ex3.py": (SOL / "ex3_batchnorm.py").read_text()},
        "partial": {"ex1_backprop_one_by_one.py": ex1},
        "cheat": {"ex2.py": "print('\\x1b[31mred\\x00')\nlg = logits.detach().clone().requires_grad_()\n"
                            "dlogits, = torch.autograd.grad(F.cross_entropy(lg, Yb), lg)\n"},
    }
    out = {}
    for who, parts in files.items():
        paths = []
        for name, text in parts.items():
            path = folder / who / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            paths.append(path)
        out[who] = grader.grade(paths)
    return out


def test_grades_csv_rows_and_columns(graded):
    entries = [Entry(key=k, platform="canvas", origin=k, people=[Person(f"Student {k}", f"id-{k}", f"{k}@uni.edu",
                                                                       {"section": "A"})]) for k in graded]
    entries.append(Entry(key="group", platform="gradescope", origin="submission_1",
                         people=[Person("=HYPERLINK(\"x\")", "7"), Person("Bo", "8")]))
    records = {k: {"result": r.to_dict()} for k, r in graded.items()}
    records["group"] = {"result": graded["right"].to_dict()}
    summary = summarise(entries, records, [Person("Absent Al", "id-9")], Options())
    rows = list(csv.DictReader(io.StringIO(export.grades_csv(summary))))
    assert [r["name"] for r in rows] == ["Student right", "Student partial", "Student cheat", "'=HYPERLINK(\"x\")",
                                         "Bo", "Absent Al"]  # one row per person; a formula is defused
    by_name = {r["name"]: r for r in rows}
    assert by_name["Student right"]["total"] == "10" and by_name["Student right"]["max"] == "36"
    assert by_name["Student right"]["section"] == "A" and by_name["Student right"]["percent"] == "27.78"
    assert float(by_name["Student partial"]["ex1"]) < 26
    assert "integrity" in by_name["Student cheat"]["flags"] and by_name["Student cheat"]["ex2"] == "0"
    assert by_name["Bo"]["total"] == "10" and by_name["Bo"]["scorecard"] == "students/group.html"
    assert by_name["Absent Al"]["flags"] == "no submission" and by_name["Absent Al"]["total"] == ""
    rates = {(r.exercise, r.name): (r.passed, r.attempted) for r in summary.rates}
    assert rates[(2, "logits")] == (2, 3) and rates[(1, "bnmeani")] == (0, 1)
    assert len([r for r in summary.rates if r.exercise == 1]) == 26
    kinds = {(i.key, i.kind) for i in summary.incidents}
    assert ("cheat", "integrity") in kinds


def test_gradescope_schema(graded, tmp_path):
    path = export.write_gradescope(graded["partial"], tmp_path / "results.json")
    data = json.loads(path.read_text())
    assert "score" not in data and isinstance(data["execution_time"], int)  # Gradescope sums the tests
    assert len(data["tests"]) == 26
    for test in data["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] in ("passed", "failed") and test["visibility"] in ("visible", "after_published")
    assert sum(t["score"] for t in data["tests"]) == graded["partial"].score
    cheat = export.gradescope_results(graded["cheat"])
    assert cheat["tests"][0]["status"] == "failed" and "uses autograd" in cheat["tests"][0]["output"]


def test_gradescope_for_an_unreadable_submission(tmp_path):
    result = SubmissionResult(submission="x.ipynb", error="x.ipynb: not a Jupyter notebook")
    data = export.gradescope_results(result)
    assert data["tests"] == [] and "not a Jupyter notebook" in data["output"]
    failure = json.loads(export.write_gradescope_failure("names.txt refused", tmp_path / "r.json").read_text())
    assert failure["score"] == 0 and "names.txt refused" in failure["output"]


def test_junit_xml(graded, tmp_path):
    path = export.write_junit(graded["partial"], tmp_path / "junit.xml")
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites" and root.get("tests") == "26"
    suite = root.find("testsuite")
    failures = suite.findall("testcase/failure")
    assert int(suite.get("failures")) == len(failures) > 0
    assert root.get("failures") == suite.get("failures")
    assert {c.get("name") for c in suite.findall("testcase")} >= {"dlogprobs", "dC"}
    cheat = ET.fromstring(export.junit_xml(graded["cheat"]).encode())  # ANSI escapes in its output are dropped
    assert cheat.find("testsuite/testcase/error") is not None or cheat.find("testsuite/testcase/failure") is not None
    unreadable = ET.fromstring(export.junit_xml(SubmissionResult(submission="x", error="bad file")).encode())
    assert unreadable.get("errors") == "1"


def test_records_round_trip(graded):
    for result in graded.values():
        again = SubmissionResult.from_dict(json.loads(json.dumps(result.to_dict())))
        assert again.to_dict() == result.to_dict()
        assert [e.zeroed for e in again.exercises] == [e.zeroed for e in result.exercises]


def test_github_classroom_workflow_example():
    """docs/github-classroom.md's workflow is valid YAML whose grade commands name real stubs."""
    import re

    import yaml

    text = (ROOT / "docs" / "github-classroom.md").read_text()
    workflow = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    graders = [s for s in steps if s.get("uses", "").startswith("classroom-resources/autograding-command-grader")]
    assert [s["id"] for s in graders] == ["exercise-1", "exercise-2", "exercise-3", "exercise-4"]
    for step in graders:
        stub = step["with"]["command"].split()[2]
        assert (ROOT / "exercises" / stub).is_file(), stub
    reporter = next(s for s in steps if "grading-reporter" in s.get("uses", ""))
    assert reporter["with"]["runners"].split(",") == [s["id"] for s in graders]
    assert set(reporter["env"]) == {f"{s['id'].upper()}_RESULTS" for s in graders}
