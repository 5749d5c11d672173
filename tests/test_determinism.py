"""The same submission graded twice, in one process or in two, gives identical JSON apart from times."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader.report import scorecard as report

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
TIMES = ("timestamp", "seconds", "generated")


def strip_times(data):
    """The JSON without timestamps and durations, the only fields allowed to differ."""
    if isinstance(data, dict):
        return {k: strip_times(v) for k, v in data.items() if k not in TIMES}
    return [strip_times(v) for v in data] if isinstance(data, list) else data


@pytest.fixture(scope="module")
def submission(tmp_path_factory):
    """A mixed submission: a correct exercise, a partial one that stops midway, one with a wrong answer and output."""
    folder = tmp_path_factory.mktemp("student")
    ex1 = (SOLUTIONS / "ex1_backprop_one_by_one.py").read_text().replace("dh = dlogits @ W2.T", "dh = dlogits @ W2.T\nboom")
    (folder / "ex1_backprop_one_by_one.py").write_text(ex1)
    (folder / "ex2_cross_entropy.py").write_text((SOLUTIONS / "ex2_cross_entropy.py").read_text())
    (folder / "ex3_batchnorm.py").write_text("print('mean', hprebn.mean().item())\ndhprebn = dhpreact * bngain * bnvar_inv * 1.01\n")
    return folder


def test_twice_in_one_process(grader, submission):
    first = json.loads(report.to_json(grader.grade([submission])))
    second = json.loads(report.to_json(grader.grade([submission])))
    assert first["score"] > 0 and first["score"] < first["max_score"]  # a mixed result, not a trivial one
    assert strip_times(first) == strip_times(second)


def test_twice_in_two_processes(grader, submission, tmp_path, names_path):
    outputs = []
    for k in range(2):
        out = tmp_path / f"run{k}.json"
        proc = subprocess.run([sys.executable, "-m", "grader", "grade", str(submission), "--json", str(out), "--quiet",
                               "--names", str(names_path)], capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        outputs.append(json.loads(out.read_text()))
    assert strip_times(outputs[0]) == strip_times(outputs[1])
    in_process = json.loads(report.to_json(grader.grade([submission])))
    assert strip_times(outputs[0]) == strip_times(in_process)
