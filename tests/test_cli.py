"""The CLI through click's CliRunner: exit codes, files written, help text on every command."""
from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from grader.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SOLUTION2 = str(ROOT / "solutions" / "ex2_cross_entropy.py")


@pytest.fixture
def runner():
    return CliRunner()


def all_commands(group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from all_commands(command, prefix + (name,))


def test_every_command_has_help_with_an_example(runner):
    for path, command in all_commands(cli):
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, path
        assert "Example" in result.output, f"{' '.join(path)} --help has no example"


def test_grade_passing_file_exits_0_and_writes_json_and_html(runner, tmp_path):
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    result = runner.invoke(cli, ["grade", SOLUTION2, "--json", str(out_json), "--html", str(out_html)])
    assert result.exit_code == 0, result.output
    assert "logits          | exact: False | approximate: True  | maxdiff:" in result.output
    doc = json.loads(out_json.read_text())
    assert {"score", "max_score", "exercises"} <= set(doc) and doc["score"] == doc["max_score"] == 5
    ex = doc["exercises"][0]
    assert {"id", "score", "max_score", "status", "checks"} <= set(ex) and ex["id"] == 2
    assert {"name", "status", "exact", "approximate", "maxdiff", "shape", "expected_shape", "message"} <= set(ex["checks"][0])
    html = out_html.read_text()
    assert "<style>" in html and "dlogits" in html and "http://" not in html and "https://" not in html


def test_grade_stubs_exits_1_without_traceback(runner):
    result = runner.invoke(cli, ["grade", str(ROOT / "exercises")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "not attempted" in result.output


def test_usage_errors_exit_2(runner):
    assert runner.invoke(cli, ["grade", SOLUTION2, "--exercise", "7"]).exit_code == 2
    assert runner.invoke(cli, ["grade"]).exit_code == 2
    assert runner.invoke(cli, ["grade", "does-not-exist.py"]).exit_code == 2


def test_one_cell_of_code_with_exercise_flag(runner, tmp_path):
    cell = tmp_path / "cell.py"
    cell.write_text("dlogits = F.softmax(logits, 1)\ndlogits[range(n), Yb] -= 1\ndlogits /= n\n")
    result = runner.invoke(cli, ["grade", str(cell), "--exercise", "2", "-q"])
    assert result.exit_code == 0 and result.output.strip() == "5/5"


def test_bad_names_file_is_one_clear_sentence(runner, tmp_path):
    bad = tmp_path / "names.txt"
    bad.write_text("emma\n")
    result = runner.invoke(cli, ["grade", SOLUTION2, "--names", str(bad)])
    assert result.exit_code == 1 and "refused" in result.output and "Traceback" not in result.output


def test_check_solutions_exits_0(runner):
    result = runner.invoke(cli, ["check-solutions", str(ROOT / "solutions")])
    assert result.exit_code == 0, result.output
    assert "all full marks" in result.output


def test_check_solutions_fails_on_a_broken_solution(runner, tmp_path):
    (tmp_path / "ex2_cross_entropy.py").write_text("dlogits = F.softmax(logits, 1)\n")
    result = runner.invoke(cli, ["check-solutions", str(tmp_path)])
    assert result.exit_code == 1 and "NOT all full marks" in result.output


def test_start_copies_fresh_stubs_and_keeps_existing_work(runner, tmp_path):
    work = tmp_path / "work"
    result = runner.invoke(cli, ["start", str(work)])
    assert result.exit_code == 0
    stubs = sorted(p.name for p in (ROOT / "exercises").glob("ex*.py"))
    assert sorted(p.name for p in work.glob("*.py")) == stubs
    (work / stubs[0]).write_text("# my work\n")
    runner.invoke(cli, ["start", str(work)])
    assert (work / stubs[0]).read_text() == "# my work\n"


def test_exercise_flag_on_a_folder_picks_that_exercise(runner):
    result = runner.invoke(cli, ["grade", str(ROOT / "solutions"), "--exercise", "3", "-q"])
    assert result.exit_code == 0 and result.output.strip() == "5/5"


# --- real processes: exit codes, Ctrl-C, messages -------------------------------------------------

def grader_process(*args, cwd=None) -> subprocess.Popen:
    """`python -m grader ARGS` in its own session (so a SIGINT to its group is what a terminal's Ctrl-C sends)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "grader", *map(str, args)], env=env, cwd=cwd, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def ctrl_c_when(proc: subprocess.Popen, ready, timeout: float = 240) -> tuple[str, str]:
    """Send SIGINT to `proc`'s process group once `ready()` is true; return its stdout and stderr."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "never became ready"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)
    return proc.communicate(timeout=180)


def test_ctrl_c_during_grade_writes_what_finished_and_exits_130(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    for name in ("ex1_backprop_one_by_one.py", "ex2_cross_entropy.py", "ex3_batchnorm.py", "ex4_training.py"):
        shutil.copy(ROOT / "solutions" / name, work / name)
    proc = grader_process("grade", work, "--json", tmp_path / "r.json", "--html", tmp_path / "r.html")
    lines = []

    def training_started() -> bool:  # exercises 3, 2, 1 run first; the plain progress line says when 4 starts
        lines.append(proc.stderr.readline())
        return "exercise 4: your training" in lines[-1]

    out, err = ctrl_c_when(proc, training_started)
    assert proc.returncode == 130, (out, err)
    assert "Aborted!" not in out + err and "Traceback" not in err
    result = json.loads((tmp_path / "r.json").read_text())
    assert {1, 2, 3} <= {ex["id"] for ex in result["exercises"]}
    assert any("interrupted (Ctrl-C)" in note for note in result["notes"])
    assert result["score"] >= 36 and "Exercise 3" in (tmp_path / "r.html").read_text()
    assert "total:" in out


def test_ctrl_c_during_batch_writes_grades_from_finished_records_and_exits_130(tmp_path):
    for k in range(6):
        (tmp_path / "in" / f"s{k}").mkdir(parents=True)
        for name in ("ex2_cross_entropy.py", "ex3_batchnorm.py"):
            shutil.copy(ROOT / "solutions" / name, tmp_path / "in" / f"s{k}" / name)
        ex2 = tmp_path / "in" / f"s{k}" / "ex2_cross_entropy.py"  # each student >= 1.5 s (0.5 s per variant):
        ex2.write_text("import time\ntime.sleep(0.5)\n" + ex2.read_text())  # Ctrl-C lands before the last one ends
    out_dir = tmp_path / "out"
    proc = grader_process("batch", tmp_path / "in", "--out", out_dir, "--jobs", "1", "--quiet")
    out, err = ctrl_c_when(proc, lambda: len(list((out_dir / "students").glob("*.json"))) >= 1
                           if (out_dir / "students").is_dir() else False)
    assert proc.returncode == 130, (out, err)
    assert "interrupted (Ctrl-C)" in err and "Aborted!" not in out + err
    rows = list(csv.DictReader((out_dir / "grades.csv").open()))
    done = [r for r in rows if r["total"]]
    assert len(rows) == 6 and 1 <= len(done) < 6 and all(r["total"] == "10" for r in done)
    page = " ".join((out_dir / "class.html").read_text().split())
    assert "Partial report" in page and f"before {6 - len(done)} of 6 submissions were graded" in page
    assert page.count("interrupted (Ctrl-C) before this submission was graded") == 6 - len(done)
    assert "the grader failed" not in page


def test_nothing_to_grade_exits_5_and_says_what_was_ignored(tmp_path):
    (tmp_path / "notes.txt").write_text("I did it on paper")
    (tmp_path / "plot.png").write_bytes(b"\x89PNG")
    proc = subprocess.run([sys.executable, "-m", "grader", "grade", str(tmp_path)], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "no .py or .ipynb file" in proc.stdout and "notes.txt" in proc.stdout and "plot.png" in proc.stdout
    assert proc.stdout.count("notes.txt") == 1  # said once, not as "could not grade" and again as a note
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = subprocess.run([sys.executable, "-m", "grader", "batch", str(empty), "--out", str(tmp_path / "out"), "--quiet"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 5 and "no submission found" in proc.stderr


def test_wrong_exercise_flag_says_which_exercise_the_file_looks_like(runner):
    result = runner.invoke(cli, ["grade", SOLUTION2, "--exercise", "3"])
    assert result.exit_code == 1
    assert "looks like exercise 2" in result.output and "--exercise 2" in result.output
