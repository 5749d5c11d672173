"""Whole notebooks graded end to end: the lecture's forms, the hazards students add, bad files."""
from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import cli

NOTEBOOKS = Path(__file__).resolve().parents[1] / "fixtures" / "notebooks"


def grade(grader, name, exercise=None):
    return grader.grade([NOTEBOOKS / name], exercise)


def test_correct_notebook_scores_full_marks_on_all_four(grader):
    result = grade(grader, "correct.ipynb")
    assert [e.id for e in result.exercises] == [1, 2, 3, 4]
    for ex in result.exercises:
        assert ex.status == "complete", (ex.id, ex.error, [(c.name, c.message) for c in ex.checks if not c.passed])
    assert result.score == result.max_score


def test_untouched_starter_is_not_attempted_everywhere(grader):
    result = grade(grader, "starter.ipynb")
    assert result.exercises and all(e.status == "not attempted" for e in result.exercises)
    assert result.score == 0 and not any(e.error for e in result.exercises)


def test_lecture_answer_notebook_scores_full_marks(grader):
    """Its (64,) dbnmeani for (1, 64) counts, with a note (it broadcasts back where the lecture uses it)."""
    ex = grade(grader, "answer.ipynb", 1).exercise(1)
    assert ex.score == ex.max_score == 26, [(c.name, c.message) for c in ex.checks if not c.passed]
    assert "(64,)" in next(c for c in ex.checks if c.name == "bnmeani").message


def test_saved_outputs_are_never_trusted(grader):
    result = grade(grader, "outputs_contradict.ipynb")  # starter code whose outputs claim `exact: True`
    assert result.exercises and all(e.status == "not attempted" for e in result.exercises) and result.score == 0


@pytest.mark.parametrize("name", ["magics.ipynb", "helpers.ipynb", "spread_cells.ipynb", "after_markers.ipynb",
                                  "huge_outputs.ipynb", "one_cell.ipynb",
                                  "bare_answers.ipynb", "forward_merged.ipynb"])
def test_hazards_do_not_stop_grading(grader, name):
    for exercise in (2, 3):  # the notebooks' exercise 1 keeps the lecture's (64,) dbnmeani; 4 is slow
        ex = grade(grader, name, exercise).exercise(exercise)
        assert ex is not None and ex.status == "complete", (name, exercise, ex and ex.error)


def test_rewritten_answers_last_one_counts_and_is_noted(grader):
    ex = grade(grader, "rewritten.ipynb", 1).exercise(1)
    assert ex.status == "complete" and any("written 2 times" in n for n in ex.notes)


def test_renamed_forward_variable_is_bound_to_the_lecture_tensor(grader):
    # issue 13: `h_prebn` is recognised from the student's forward cell (it used to stop exercise 1 with a NameError)
    ex = grade(grader, "renamed.ipynb", 1).exercise(1)
    assert "uses `h_prebn`" not in ex.error and any("h_prebn is hprebn" in note for note in ex.notes)
    hprebn = next(c for c in ex.checks if c.name == "hprebn")
    assert hprebn.status != "pass" and "17" in hprebn.message  # its hard-coded 32 fails the batch-17 variant


def test_unknown_name_is_explained_with_cell_and_line(grader, write):
    path = write("nb.py", "# %%\n# Exercise 2\ndlogits = F.softmax(my_logits, 1)\n")
    ex = grader.grade([path]).exercise(2)
    assert "uses `my_logits`, which the lecture's forward pass does not define" in ex.error
    assert ex.error.startswith("line 3")


def test_syntax_error_points_at_the_notebook_cell(grader):
    ex = grade(grader, "syntax_error.ipynb", 3).exercise(3)
    assert "SyntaxError" in ex.error and ex.error.startswith("cell 21, line")


@pytest.mark.parametrize("name", ["bad_invalid_json.ipynb", "bad_not_notebook.ipynb", "bad_nbformat3.ipynb",
                                  "bad_empty.ipynb", "bad_no_exercise.ipynb", "bad_binary.ipynb"])
def test_bad_files_are_one_clear_line_and_exit_5(name):
    result = CliRunner().invoke(cli, ["grade", str(NOTEBOOKS / name)])
    assert result.exit_code == 5 and "Traceback" not in result.output
    assert name in result.output


def test_not_utf8_script_is_refused_clearly():
    path = NOTEBOOKS.parent / "scripts" / "latin1.py"
    result = CliRunner().invoke(cli, ["grade", str(path)])
    assert result.exit_code == 5 and "latin1.py" in result.output and "Traceback" not in result.output


def test_a_bad_file_beside_a_good_one_does_not_stop_the_rest(grader):
    result = grader.grade([NOTEBOOKS / "bad_invalid_json.ipynb", NOTEBOOKS / "correct.ipynb"], exercise=2)
    assert result.exercise(2).status == "complete"
    assert any("bad_invalid_json.ipynb" in note for note in result.notes)
