"""The CLI through click's CliRunner: exit codes, files written, help text on every command."""
from __future__ import annotations

import json
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
