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
from grader.results import FAIL, MISSING, PASS

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


def _num(value: float) -> str:
    return f"{value:g}"


def _cell(value) -> str:
    """A text cell a spreadsheet will not run as a formula (a name such as '=HYPERLINK(...)')."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def gradescope_results(result) -> dict:
    """A SubmissionResult in Gradescope's results.json schema: one test per graded gradient.

    A verdict that comes from a hidden variant (the public seed passes, a hidden one fails) is
    shown to the student only once grades are published, so the hidden variants stay hidden.
    """
    tests = []
    for ex in result.exercises:
        problems = [f"your code stopped: {ex.error}"] if ex.error else []
        problems += [f"uses autograd: {flag}" + (" (this exercise scores 0)" if ex.zeroed else "") for flag in ex.integrity]
        if not ex.checks:
            tests.append({"name": f"Exercise {ex.id}: {ex.title}", "score": 0.0, "max_score": 0.0, "status": "failed",
                          "output": "\n".join(problems + ex.notes) or "nothing was graded", "visibility": VISIBLE})
        for check in ex.checks:
            hidden = check.status != PASS and check.variant != "public"
            lines = [check.message, f"Likely cause: {check.diagnosis}" if check.diagnosis else ""] + problems
            tests.append({
                "name": f"Exercise {ex.id}: d{check.name}",
                "score": check.score, "max_score": check.max_score,
                "status": "passed" if check.status == PASS and not ex.zeroed else "failed",
                "output": "\n".join(line for line in lines if line),
                "visibility": AFTER_PUBLISHED if hidden else VISIBLE,
            })
    lines = [f"Total: {result.score:g} / {result.max_score:g}"]
    if result.error:
        lines.insert(0, f"Could not grade: {result.error}")
    lines += [f"note: {n}" for n in result.notes]
    lines += [f"Exercise {ex.id} ({ex.title}): {ex.status}, {ex.score:g} / {ex.max_score:g}" for ex in result.exercises]
    return {
        "score": result.score,
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
            case = ET.SubElement(suite, "testcase", classname=f"backprop_ninja.ex{ex.id}", name=f"d{check.name}")
            message = _xml(check.message) if check.status != PASS else ""
            if check.status == PASS and ex.zeroed:
                message = "passes, but the exercise scores 0: it uses autograd"
            if not ex.attempted and check.status == MISSING:
                ET.SubElement(case, "skipped", message=message)
                counts["skipped"] += 1
            elif check.status in (FAIL, MISSING) or (check.status == PASS and ex.zeroed):
                ET.SubElement(case, "failure", message=message, type=check.status).text = message
                counts["failures"] += 1
            elif check.status != PASS:
                ET.SubElement(case, "error", message=message, type=check.status).text = message
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
