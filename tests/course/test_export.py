"""grader/export.py (grades.csv, Gradescope, JUnit) and grader/summary.py, on real graded results."""
from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
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
    ex1 = (SOL / "ex1_backprop_one_by_one.py").read_text().replace("db1 = dhprebn.sum(0)",  # (1, 64) for b1's (64,)
                                                                      "db1 = dhprebn.sum(0, keepdim=True)")
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
    assert rates[(2, "logits")] == (2, 3) and rates[(1, "b1")] == (0, 1) and rates[(1, "bnmeani")] == (1, 1)
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


def test_github_classroom_workflow_runs_as_written(tmp_path, names_path):
    """docs/github-classroom.md, as a course uses it: its wheel in .grader/, the workflow's run: steps in order.

    pip runs offline (PIP_NO_INDEX) in a fresh venv that sees this venv's packages (torch included); the
    reporter step is replaced by what the reporter does: decode <RUNNER>_RESULTS and sum the tests' scores.
    """
    import base64
    import re
    import subprocess
    import sys
    import sysconfig

    import yaml

    text = (ROOT / "docs" / "github-classroom.md").read_text()
    workflow = yaml.safe_load(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    repo = tmp_path / "student-repo"
    (repo / ".grader").mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet", "-w",
                    str(repo / ".grader"), str(ROOT)], check=True, timeout=300)
    shutil.copy(names_path, repo / ".grader" / "names.txt")
    for stub in ("ex1_backprop_one_by_one.py", "ex3_batchnorm.py", "ex4_training.py"):
        shutil.copy(ROOT / "exercises" / stub, repo / stub)  # untouched stubs
    partial = (ROOT / "solutions" / "ex1_backprop_one_by_one.py").read_text()
    (repo / "ex1_backprop_one_by_one.py").write_text(partial.replace("dW2 = h.T @ dlogits", "dW2 = h.T @ dlogits * 2"))
    shutil.copy(ROOT / "solutions" / "ex2_cross_entropy.py", repo / "ex2_cross_entropy.py")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    site = next((venv / "lib").glob("python3*/site-packages"))
    (site / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch, pip & co. from this venv
    (venv / "bin" / "pip").write_text(f'#!/bin/sh\nexec "{venv / "bin" / "python"}" -m pip "$@"\n')
    (venv / "bin" / "pip").chmod(0o755)
    output = tmp_path / "github_output"
    output.touch()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BACKPROP_NINJA_NAMES")}
    env.update(PATH=f"{venv / 'bin'}:{env['PATH']}", GITHUB_OUTPUT=str(output), PIP_NO_INDEX="1", VIRTUAL_ENV=str(venv))
    ran = []
    for step in steps:
        if "run" not in step:
            continue
        proc = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, (step["name"], proc.stdout[-3000:], proc.stderr[-3000:])
        ran.append((step["name"], proc.stdout))
    assert [name for name, _ in ran] == ["Install CPU-only torch", "Install the grader from this repository", "Grade"]
    log = ran[-1][1]
    assert "W2" in log and "FAIL" in log  # the failing gradient is in the job log, not just a total
    assert (repo / "scorecard.html").is_file() and (repo / "junit.xml").is_file()
    grade_step = next(s for s in steps if s.get("name") == "Grade")
    reporter = next(s for s in steps if "grading-reporter" in s.get("uses", ""))
    runners = reporter["with"]["runners"].split(",")
    assert runners == [grade_step["id"]]
    assert reporter["env"] == {f"{r.upper()}_RESULTS": f"${{{{ steps.{r}.outputs.result }}}}" for r in runners}
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    results = json.loads(base64.b64decode(outputs["result"]))
    tests = {t["name"]: t for t in results["tests"]}
    assert results["status"] == "fail" and results["max_score"] >= 26 + 5 + 5
    assert tests["Exercise 1: dW2"]["status"] == "fail" and tests["Exercise 1: dW2"]["message"]
    assert tests["Exercise 2: dlogits"] == {**tests["Exercise 2: dlogits"], "status": "pass", "score": 5.0}
    ex1 = [t for name, t in tests.items() if name.startswith("Exercise 1:")]
    assert 0 < sum(t["score"] for t in ex1) < 26  # partial points per gradient, not all-or-nothing


GRADES = """name,student_id,email,platform,submission_id,key,section,total,max,percent,ex1,ex2,flags,scorecard
Ada Lovelace,9001,ada@uni.edu,canvas,77,ada,A,31,31,100.00,26,5,,students/ada.html
'=Bob,S2,bob@uni.edu,folder,,bob,B,5,31,16.13,0,5,crash,students/bob.html
Absent Al,S3,al@uni.edu,,,,,,31,,,,no submission,
"""


def test_gradebook_canvas_columns_and_points_possible():
    rows = list(csv.reader(io.StringIO(export.gradebook_csv(GRADES, "canvas", "Backprop ninja"))))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Backprop ninja"]
    assert rows[1] == ["Points Possible", "", "", "", "", "31"]
    assert rows[2] == ["Ada Lovelace", "9001", "", "ada@uni.edu", "A", "31"]  # a Canvas user id goes in ID
    assert rows[3] == ["'=Bob", "", "S2", "bob@uni.edu", "B", "5"]  # a roster id is the SIS id; still no formula
    assert rows[4][-1] == "" and len(rows) == 5  # no submission: an empty grade, the gradebook keeps its own


def test_gradebook_moodle_and_cli_format(tmp_path):
    rows = list(csv.DictReader(io.StringIO(export.gradebook_csv(GRADES, "moodle"))))
    assert list(rows[0]) == ["Email address", "ID number", "Full name", "backprop-ninja", "Feedback"]
    assert [r["backprop-ninja"] for r in rows] == ["31", "5", ""]
    assert rows[1]["Feedback"] == "5 / 31 (crash)" and rows[2]["Feedback"] == "no submission"
    with pytest.raises(ValueError, match="canvas, moodle"):
        export.gradebook_csv(GRADES, "blackboard-xls")
    grades = tmp_path / "grades.csv"
    grades.write_text(GRADES)
    assert export.write_gradebook(grades, "canvas").name == "grades-canvas.csv"
    assert (tmp_path / "grades-canvas.csv").read_text().startswith("Student,ID,")


def test_batch_format_canvas_from_the_command_line(tmp_path, names_path):
    """`batch --format canvas` on a Canvas-style download writes grades-canvas.csv beside grades.csv."""
    inp = tmp_path / "in"
    inp.mkdir()
    shutil.copy(SOL / "ex2_cross_entropy.py", inp / "adalovelace_9001_7701_ex2_cross_entropy.py")
    proc = subprocess.run([sys.executable, "-m", "grader", "batch", str(inp), "--out", str(tmp_path / "out"), "--quiet",
                           "--jobs", "1", "--format", "canvas", "--assignment", "HW4", "--names", str(names_path)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.reader((tmp_path / "out" / "grades-canvas.csv").open()))
    assert rows[0][-1] == "HW4" and rows[1] == ["Points Possible", "", "", "", "", "5"]
    assert rows[2][1:2] == ["9001"] and rows[2][-1] == "5"


def test_summary_warns_about_a_group_member_missing_from_the_roster(tmp_path):
    from grader.course.identity import Roster

    group = Entry(key="g1", platform="gradescope", origin="submission_1",
                  people=[Person("Ann", "S1", "ann@uni.edu"), Person("Zed", "S9", "zed@uni.edu")])
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\nS1,Ann A.\nS2,Nobody Yet\n")
    absent = Roster.load(roster).apply([group])
    record = {"result": SubmissionResult(submission="x").to_dict()}
    summary = summarise([group], {"g1": record}, absent, Options())
    assert summary.warnings == ["Zed (submission_1, a group of 2) is not on the roster"]
    by_name = {r.name: r for r in summary.rows}
    assert "not on roster" in by_name["Zed"].flags and "not on roster" not in by_name["Ann A."].flags
    assert [r.name for r in summary.flagged("no submission")] == ["Nobody Yet"]
    html = __import__("grader.course.classreport", fromlist=["class_html"]).class_html(summary)
    assert "Zed (submission_1, a group of 2) is not on the roster" in html
    assert "No submission (1):</strong>" in html and "Nobody Yet" in html


def test_exercise_4_training_check_is_named_training_not_dtraining():
    from grader.results import CheckResult, ExerciseResult

    ex4 = ExerciseResult(4, "train the MLP", checks=[CheckResult("W2", "pass", max_score=1, score=1),
                                                      CheckResult("training", "fail", message="diverged", max_score=1)])
    result = SubmissionResult("ex4.py", exercises=[ex4])
    names = [t["name"] for t in export.gradescope_results(result)["tests"]]
    assert names == ["Exercise 4: dW2", "Exercise 4: training"]
    junit = export.junit_xml(result)
    assert 'name="training"' in junit and "dtraining" not in junit
    assert [t["name"] for t in export.classroom_result(result)["tests"]] == names


def test_batch_prints_the_roster_warnings_in_the_terminal(tmp_path, names_path):
    inp = tmp_path / "canvas"
    inp.mkdir()
    shutil.copy(SOL / "ex2_cross_entropy.py", inp / "adalovelace_9001_7701_ex2_cross_entropy.py")
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name\n9002,Grace Hopper\n")
    proc = subprocess.run([sys.executable, "-m", "grader", "batch", str(inp), "--out", str(tmp_path / "out"), "--quiet",
                           "--jobs", "1", "--roster", str(roster), "--names", str(names_path)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2, proc.stderr
    assert "is not on the roster" in warnings[0] and "adalovelace" in warnings[0].lower()
    assert warnings[1] == 'warning: 1 on the roster with no submission: Grace Hopper (in grades.csv, flagged "no submission")'


def test_junit_failure_carries_the_diagnosis():
    from grader.results import CheckResult, ExerciseResult

    wrong = CheckResult("logits", "fail", message="dlogits differs from autograd", max_score=5,
                        diagnosis="dlogits is missing the -1 at the target")
    result = SubmissionResult("ex2.py", exercises=[ExerciseResult(2, "cross-entropy", checks=[wrong])])
    failure = ET.fromstring(export.junit_xml(result).encode()).find("testsuite/testcase/failure")
    assert failure.get("message") == "dlogits differs from autograd"
    assert failure.text == "dlogits differs from autograd\nLikely cause: dlogits is missing the -1 at the target"


def test_a_submission_without_a_record_says_why_it_was_not_graded(graded):
    """Interrupted before it, or the grader failed on it: two causes, two messages, one flag."""
    entries = [Entry(key=k, platform="folder", origin=k, people=[Person(k)]) for k in ("right", "late-one", "broken")]
    records = {"right": {"result": graded["right"].to_dict()}}
    failed = {"broken": "JobError: the worker died"}
    summary = summarise(entries, records, [], Options(), failed=failed, interrupted=True)
    why = {i.key: i.detail for i in summary.incidents if i.kind == "not graded"}
    assert set(why) == {"late-one", "broken"} and summary.interrupted
    assert "interrupted (Ctrl-C) before this submission was graded" in why["late-one"] and "failed" not in why["late-one"]
    assert "the grader failed" in why["broken"] and "the worker died" in why["broken"]
    assert all("not graded" in r.flags for r in summary.rows if r.key != "right")
    whole = summarise(entries, records, [], Options(), failed=failed)
    assert not whole.interrupted and all("the grader failed" in i.detail for i in whole.incidents if i.kind == "not graded")
