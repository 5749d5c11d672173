"""grader/gradescope.py: the autograder zip, unpacked and run the way Gradescope runs it (a real subprocess)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.course.gradescope import build_autograder
from grader.course.rubric import RubricError

ROOT = Path(__file__).resolve().parents[2]
HARD_CODED_32 = "dlogits = F.softmax(logits, 1)\ndlogits[range(32), Yb] -= 1\ndlogits /= 32\n"
TEST_KEYS = {"name", "score", "max_score", "status", "output", "visibility"}


@pytest.fixture(scope="module")
def autograder(tmp_path_factory, names_path):
    """The zip, built with a rubric, unpacked as /autograder/source would be."""
    base = tmp_path_factory.mktemp("gradescope")
    rubric = base / "rubric.toml"
    rubric.write_text("[exercises.2]\npoints = 10\n[limits]\nseconds = 10\n")
    zpath = build_autograder(base / "autograder.zip", names=names_path, rubric=rubric)
    root = base / "autograder"
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(root / "source")
        modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
    for name in ("setup.sh", "run_autograder"):
        (root / "source" / name).chmod(0o755)  # extractall drops mode bits; Gradescope keeps them
    return {"zip": zpath, "root": root, "modes": modes}


def run_autograder(root: Path, files: dict, python: str = sys.executable) -> tuple[dict, subprocess.CompletedProcess]:
    sub = root / "submission"
    if sub.exists():
        for p in sorted(sub.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
    sub.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (sub / rel).parent.mkdir(parents=True, exist_ok=True)
        (sub / rel).write_text(text)
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": python}
    env.pop("BACKPROP_NINJA_NAMES", None)  # the zip's own names.txt must be enough
    proc = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True,
                          timeout=300)
    return json.loads((root / "results" / "results.json").read_text()), proc


def before_publication(results: dict) -> tuple:
    """What a student sees before grades are published: the output, any top-level score and the visible tests."""
    return results["output"], results.get("score"), [t for t in results["tests"] if t["visibility"] == "visible"]


def test_zip_layout(autograder):
    names = set(autograder["modes"])
    assert {"setup.sh", "run_autograder", "names.txt", "rubric.toml", "requirements.txt"} <= names
    assert {"grader/__init__.py", "grader/sandbox/worker.py", "grader/_data/templates/scorecard.html.j2",
            "grader/_data/solutions/ex2_cross_entropy.py"} <= names
    assert not any("__pycache__" in n for n in names)
    for script in ("setup.sh", "run_autograder"):
        assert autograder["modes"][script] & stat.S_IXUSR, script
        assert subprocess.run(["bash", "-n", str(autograder["root"] / "source" / script)]).returncode == 0
    setup = (autograder["root"] / "source" / "setup.sh").read_text()
    assert "torch==" in setup and "names.txt" not in setup  # nothing to download at grading time
    reqs = (autograder["root"] / "source" / "requirements.txt").read_text()
    assert "jinja2" in reqs.lower() and "torch" not in reqs


def test_graded_submission_results_json(autograder):
    results, proc = run_autograder(autograder["root"], {"work/ex2_cross_entropy.py": HARD_CODED_32,
                                                        "ex3_batchnorm.py": (ROOT / "solutions" / "ex3_batchnorm.py").read_text()})
    assert proc.returncode == 0, proc.stderr
    assert {"execution_time", "output", "tests"} <= set(results)
    tests = {t["name"]: t for t in results["tests"]}
    assert all(TEST_KEYS <= set(t) for t in tests.values())
    good = tests["Exercise 3: dhprebn"]
    assert (good["status"], good["score"], good["visibility"]) == ("passed", 5.0, "visible")
    # hard-coding 32 passes the public variant and fails the batch-17 one: nothing visible may say so
    visible = [t for t in results["tests"] if t["visibility"] == "visible"]
    shown = json.dumps([results["output"], visible]).lower()
    for word in ("incorrect", "failed", "17", "batch of", "fails"):
        assert word not in shown, word
    correct, _ = run_autograder(autograder["root"], {"work/ex2_cross_entropy.py": (ROOT / "solutions" / "ex2_cross_entropy.py").read_text(),
                                                     "ex3_batchnorm.py": (ROOT / "solutions" / "ex3_batchnorm.py").read_text()})
    assert before_publication(results) == before_publication(correct)  # indistinguishable from a correct submission
    assert "Exercise 2 (cross-entropy in one go): complete, 10 / 10" in results["output"]
    assert sum(t["score"] for t in visible) == 15.0 and "score" not in results  # no top-level score to leak it
    hidden = [t for t in results["tests"] if t["visibility"] == "after_published"]
    assert [(t["name"], t["score"], t["max_score"]) for t in hidden] == [("Exercise 2: hidden variants", -10.0, 0.0)]
    assert "dlogits" in hidden[0]["output"] and "batch of 17" in hidden[0]["output"]
    assert sum(t["score"] for t in results["tests"]) == 5.0  # the published total: the real grade


def test_results_json_even_when_nothing_can_be_graded(autograder):
    results, _ = run_autograder(autograder["root"], {"answers.txt": "I did it on paper"})
    assert results["score"] == 0 and results["tests"] == []
    assert "no .py or .ipynb file" in results["output"] and "answers.txt" in results["output"]
    results, _ = run_autograder(autograder["root"], {"ex2.py": HARD_CODED_32}, python="/bin/false")
    assert results["score"] == 0 and results["tests"] == [] and "could not run" in results["output"]


def test_grade_writes_results_json_when_the_grader_fails(tmp_path):
    """`grade --gradescope` with a names.txt it must refuse: no result, yet a results.json."""
    bad = tmp_path / "names.txt"
    bad.write_text("emma\n")
    sub = tmp_path / "ex2.py"
    sub.write_text(HARD_CODED_32)
    out = tmp_path / "results.json"
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", str(sub), "--names", str(bad), "--gradescope", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    results = json.loads(out.read_text())
    assert results["score"] == 0 and "refused" in results["output"]


def test_broken_rubric_is_refused_at_build(tmp_path, names_path):
    bad = tmp_path / "rubric.toml"
    bad.write_text("[limits]\nsecs = 3\n")
    with pytest.raises(RubricError, match="limits.secs"):
        build_autograder(tmp_path / "a.zip", names=names_path, rubric=bad)
    assert not (tmp_path / "a.zip").exists()


def test_cli_build(tmp_path, names_path):
    from click.testing import CliRunner

    from grader.cli import cli

    result = CliRunner().invoke(cli, ["gradescope", "build", "--out", str(tmp_path / "ag.zip"), "--names", str(names_path)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "ag.zip") as zf:
        assert "rubric.toml" not in zf.namelist() and "--rubric" not in zf.read("run_autograder").decode()
