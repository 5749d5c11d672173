"""Results for other systems: grades.csv for a gradebook, Gradescope's results.json, JUnit XML."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from grader.report.scorecard import write_atomic
from grader.results import COMPLETE, CRASHED, FAIL, INCORRECT, MISSING, PARTIAL, PASS

# Gradescope shows a test's output; hidden variants' verdicts are shown once grades are published
VISIBLE, AFTER_PUBLISHED = "visible", "after_published"
IDENTITY_COLUMNS = ("name", "student_id", "email", "platform", "submission_id", "key")
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def grades_csv(summary) -> str:
    """One row per student: identity, roster columns, total, max, percent, each exercise, flags, scorecard."""
    extra = sorted({k for row in summary.rows for k in row.extra})
    exercise_cols = [f"ex{e}" for e in summary.exercises]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*IDENTITY_COLUMNS, *extra, "total", "max", "percent", *exercise_cols, "flags", "scorecard"])
    top = summary.max_total
    for row in summary.rows:
        graded = row.total is not None
        writer.writerow([
            *(_cell(getattr(row, c)) for c in IDENTITY_COLUMNS), *(_cell(row.extra.get(k, "")) for k in extra),
            _num(row.total) if graded else "", _num(top), f"{100.0 * row.total / top:.2f}" if graded and top else "",
            *(_num(row.exercises.get(e, 0.0)) if graded else "" for e in summary.exercises),
            ";".join(row.flags), row.scorecard,
        ])
    return out.getvalue()


def write_grades_csv(summary, path: str | os.PathLike) -> Path:
    return write_atomic(path, grades_csv(summary))


GRADEBOOKS = ("canvas", "moodle")


def gradebook_csv(grades: str, fmt: str, assignment: str = "backprop-ninja") -> str:
    """grades.csv's text, reshaped for a gradebook's CSV import: `canvas` or `moodle` (Moodle, Blackboard).

    canvas: Canvas's gradebook import columns `Student, ID, SIS User ID, SIS Login ID, Section, <assignment>`,
      then a `Points Possible` row; Canvas matches a row by ID (its user id: what a Canvas export gives as
      student_id), else by SIS User ID (a roster's student_id), else by SIS Login ID (the email).
    moodle: one row per student, `Email address, ID number, Full name, <assignment>, Feedback`: Moodle's
      "Import grades from CSV" maps Email address or ID number to the user and the assignment column to the
      grade item (Blackboard's "Upload Grades" maps its columns the same way).
    A student without a graded submission gets an empty grade (the gradebook keeps what it had).
    """
    rows = list(csv.DictReader(io.StringIO(grades)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    top = rows[0]["max"] if rows else ""
    if fmt == "canvas":
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
        writer.writerow(["Points Possible", "", "", "", "", top])
        for r in rows:
            canvas = r["platform"] == "canvas"
            writer.writerow([r["name"], r["student_id"] if canvas else "", "" if canvas else r["student_id"], r["email"],
                             r.get("section", ""), r["total"]])
    elif fmt == "moodle":
        writer.writerow(["Email address", "ID number", "Full name", assignment, "Feedback"])
        for r in rows:
            feedback = f"{r['total']} / {r['max']}" + (f" ({r['flags']})" if r["flags"] else "") if r["total"] else r["flags"]
            writer.writerow([r["email"], r["student_id"], r["name"], r["total"], feedback])
    else:
        raise ValueError(f"unknown gradebook format {fmt!r}: one of {', '.join(GRADEBOOKS)}")
    return out.getvalue()


def write_gradebook(grades_csv_path: str | os.PathLike, fmt: str, assignment: str = "backprop-ninja") -> Path:
    """Write grades-<fmt>.csv next to grades.csv; return its path."""
    source = Path(grades_csv_path)
    return write_atomic(source.with_name(f"grades-{fmt}.csv"), gradebook_csv(source.read_text(encoding="utf-8"), fmt, assignment))


def _num(value: float) -> str:
    return f"{value:g}"


def _cell(value) -> str:
    """A text cell a spreadsheet will not run as a formula (a name such as '=HYPERLINK(...)')."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def public_view(ex, check) -> tuple[str, float]:
    """What the public variant alone says of `check`: (status, score). A hidden-variant failure passed it."""
    if check.status != PASS and check.variant != "public":
        return PASS, 0.0 if ex.zeroed else check.max_score
    return check.status, check.score


def _public_status(ex, statuses: list[str]) -> str:
    """ExerciseResult.status, from the public variant's verdicts only."""
    if not ex.attempted or ex.zeroed:
        return ex.status
    if statuses and all(s == PASS for s in statuses):
        return COMPLETE
    if PASS in statuses:
        return PARTIAL
    return CRASHED if ex.error else INCORRECT


def gradescope_results(result) -> dict:
    """A SubmissionResult in Gradescope's results.json schema: one visible test per graded gradient.

    Before grades are published a student must learn nothing about the hidden variants, or they could
    probe them by resubmitting. So every visible test, the `output` and the visible scores come from the
    public variant's verdicts only; each exercise whose gradients fail only on a hidden variant gets one
    more test, `after_published`, that takes those points back (a negative score, max_score 0). There is
    no top-level `score`: Gradescope sums the tests, so the published total is the real grade.
    """
    tests, public_total = [], 0.0
    for ex in result.exercises:
        problems = [f"your code stopped: {ex.error}"] if ex.error else []
        problems += [f"uses autograd: {flag}" + (" (this exercise scores 0)" if ex.zeroed else "") for flag in ex.integrity]
        if not ex.checks:
            tests.append({"name": f"Exercise {ex.id}: {ex.title}", "score": 0.0, "max_score": 0.0, "status": "failed",
                          "output": "\n".join(problems + ex.notes) or "nothing was graded", "visibility": VISIBLE})
        hidden = []
        for check in ex.checks:
            status, score = public_view(ex, check)
            public_total += score
            if status == PASS and check.status != PASS:
                hidden.append(check)
            cause = f"Likely cause: {check.diagnosis}" if check.diagnosis and status != PASS else ""
            lines = ["passes" if status == PASS else check.message, cause] + problems
            tests.append({
                "name": f"Exercise {ex.id}: {check.label}", "score": score, "max_score": check.max_score,
                "status": "passed" if status == PASS and not ex.zeroed else "failed",
                "output": "\n".join(line for line in lines if line), "visibility": VISIBLE,
            })
        if hidden:
            lost = sum(public_view(ex, c)[1] - c.score for c in hidden)
            tests.append({
                "name": f"Exercise {ex.id}: hidden variants", "score": -lost, "max_score": 0.0, "status": "failed",
                "output": "\n".join(f"{c.label}: {c.message}" for c in hidden), "visibility": AFTER_PUBLISHED,
            })
    public_max = sum(ex.max_score for ex in result.exercises)
    lines = [f"Total on the public variant: {public_total:g} / {public_max:g}"
             + (" (hidden variants are graded too; they count once grades are published)" if result.exercises else "")]
    if result.error:
        lines.insert(0, f"Could not grade: {result.error}")
    lines += [f"note: {n}" for n in result.notes]
    for ex in result.exercises:
        seen = [public_view(ex, c) for c in ex.checks]
        lines.append(f"Exercise {ex.id} ({ex.title}): {_public_status(ex, [s for s, _ in seen])}, "
                     f"{sum(score for _, score in seen):g} / {ex.max_score:g}")
    return {
        **({} if tests else {"score": 0.0}),  # nothing to sum: Gradescope then needs the score itself
        "execution_time": int(round(sum(ex.seconds for ex in result.exercises))),
        "output": "\n".join(lines),
        "visibility": VISIBLE,
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def write_gradescope(result, path: str | os.PathLike) -> Path:
    """Write Gradescope's results.json for a graded SubmissionResult."""
    return write_atomic(path, json.dumps(gradescope_results(result), indent=2) + "\n")


def write_gradescope_failure(message: str, path: str | os.PathLike) -> Path:
    """A results.json for a submission that could not be graded at all (Gradescope needs one regardless)."""
    data = {"score": 0.0, "execution_time": 0, "visibility": VISIBLE, "stdout_visibility": "hidden",
            "output": f"The autograder could not grade this submission: {message}", "tests": []}
    return write_atomic(path, json.dumps(data, indent=2) + "\n")


def classroom_result(result) -> dict:
    """GitHub Classroom's runner result (what autograding-grading-reporter reads): one test per gradient, with points.

    The reporter posts the sum of the tests' `score` out of `max_score`, so each gradient earns its own points.
    """
    tests = []
    for ex in result.exercises:
        for check in ex.checks:
            passed = check.status == PASS and not ex.zeroed
            message = "" if passed else (check.message or check.status)
            if ex.zeroed:
                message = f"{message}; the exercise scores 0: it uses autograd".lstrip("; ")
            tests.append({"name": f"Exercise {ex.id}: {check.label}", "status": "pass" if passed else "fail",
                          "score": check.score, "message": message, "line_no": 0, "execution_time": f"{ex.seconds:.1f}s"})
    if result.error:
        tests.insert(0, {"name": "read the submission", "status": "error", "score": 0.0, "message": result.error,
                         "line_no": 0, "execution_time": "0s"})
    status = "error" if result.error and not result.exercises else "pass" if result.passed else "fail"
    return {"version": 1, "status": status, "max_score": result.max_score, "tests": tests}


def write_classroom(result, path: str | os.PathLike) -> Path:
    """Append `result=<base64 JSON>` to `path` ($GITHUB_OUTPUT): the step's `result` output for the reporter."""
    import base64

    encoded = base64.b64encode(json.dumps(classroom_result(result)).encode()).decode("ascii")
    path = Path(path)
    with path.open("a", encoding="utf-8") as f:
        f.write(f"result={encoded}\n")
    return path


def _body(message: str, check) -> str:
    """A failure's text in JUnit: the message, then the diagnosis as Gradescope words it."""
    return message + (f"\nLikely cause: {_xml(check.diagnosis)}" if check.diagnosis and check.status != PASS else "")


def junit_xml(result) -> str:
    """JUnit XML: a testsuite per exercise, a testcase per gradient (failure, error or skipped)."""
    suites = ET.Element("testsuites", name="backprop-ninja", tests="0", failures="0", errors="0")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    if result.error:
        suite = ET.SubElement(suites, "testsuite", name="submission", tests="1", failures="0", errors="1", skipped="0")
        case = ET.SubElement(suite, "testcase", classname="backprop_ninja.submission", name="read submission")
        ET.SubElement(case, "error", message=_xml(result.error), type="SubmissionError").text = _xml(result.error)
        totals["tests"] += 1
        totals["errors"] += 1
    for ex in result.exercises:
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        suite = ET.SubElement(suites, "testsuite", name=_xml(f"exercise {ex.id}: {ex.title}"), time=f"{ex.seconds:.3f}")
        for check in ex.checks:
            counts["tests"] += 1
            case = ET.SubElement(suite, "testcase", classname=f"backprop_ninja.ex{ex.id}", name=check.label)
            message = _xml(check.message) if check.status != PASS else ""
            if check.status == PASS and ex.zeroed:
                message = "passes, but the exercise scores 0: it uses autograd"
            if not ex.attempted and check.status == MISSING:
                ET.SubElement(case, "skipped", message=message)
                counts["skipped"] += 1
            elif check.status in (FAIL, MISSING) or (check.status == PASS and ex.zeroed):
                ET.SubElement(case, "failure", message=message, type=check.status).text = _body(message, check)
                counts["failures"] += 1
            elif check.status != PASS:
                ET.SubElement(case, "error", message=message, type=check.status).text = _body(message, check)
                counts["errors"] += 1
            props = ET.SubElement(case, "properties")
            ET.SubElement(props, "property", name="score", value=f"{check.score:g}")
            ET.SubElement(props, "property", name="max_score", value=f"{check.max_score:g}")
        if ex.output or ex.error:
            ET.SubElement(suite, "system-out").text = _xml("\n".join(x for x in (ex.error, ex.output) if x))
        for k, v in counts.items():
            suite.set(k, str(v))
            totals[k] += v
    for k in ("tests", "failures", "errors"):
        suites.set(k, str(totals[k]))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _xml(text: str) -> str:
    """Drop the characters XML 1.0 cannot hold (a student's output may print ANSI escapes or NULs)."""
    return _NOT_XML.sub("\ufffd", text)


def write_junit(result, path: str | os.PathLike) -> Path:
    return write_atomic(path, junit_xml(result))
