"""Issue 13: the layouts real students hand in, each a notebook in tests/fixtures/layouts.py with its expected scores."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES))
from layouts import EXPECTED, folder_cases  # noqa: E402

from grader.sandbox.reach import Reach, instrument  # noqa: E402
from grader.submissions.notebook import headers_of  # noqa: E402
from grader.submissions.reader import load_submission  # noqa: E402

NOTEBOOKS = FIXTURES / "notebooks"


@pytest.fixture(scope="module")
def graded(grader):
    """Each layout notebook graded once (module-wide: exercise 4 takes seconds)."""
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = grader.grade([NOTEBOOKS / name])
        return cache[name]
    return get


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_layout_scores_as_expected(graded, name):
    result = graded(name)
    got = {ex.id: ex.score for ex in result.exercises}
    for ex in (1, 2, 3, 4):
        assert got.get(ex, 0.0) == EXPECTED[name].get(ex, 0), (name, ex, [(e.id, e.error, e.notes) for e in result.exercises])


@pytest.mark.parametrize("name", sorted(folder_cases()))
def test_folder_and_zip_scores_as_expected(grader, name):
    paths, expected = folder_cases()[name]
    result = grader.grade(paths)
    got = {ex.id: ex.score for ex in result.exercises}
    assert {ex: got.get(ex, 0.0) for ex in (1, 2, 3, 4)} == {ex: expected.get(ex, 0) for ex in (1, 2, 3, 4)}, result.notes


def test_lone_update_cells_stay_in_exercise_1():
    sub = load_submission(NOTEBOOKS / "l1_one_per_cell.ipynb")
    assert "dhprebn += 1.0/n" in sub.exercises[1].code
    assert "+=" not in sub.exercises[3].code and "dhprebn = bngain" in sub.exercises[3].code
    assert "dlogits +=" not in sub.exercises[2].code


def test_near_name_is_graded_with_a_note(graded):
    ex = graded("l2_dlogits_fast.ipynb").exercise(2)
    assert "graded `dlogits_fast` as `dlogits`" in ex.notes and ex.status == "complete"


def test_ambiguous_near_names_ask_which(graded):
    ex = graded("l2_ambiguous.ipynb").exercise(2)
    assert any("did you mean `dlogits_fast` or `dlogits_v2`?" in note for note in ex.notes)
    assert "did you mean `dlogits_fast` or `dlogits_v2`?" in ex.checks[0].message


def test_student_forward_names_are_bound_before_the_code_and_map_to_no_line():
    code = load_submission(NOTEBOOKS / "l3_yb.ipynb").exercises[1]
    first = code.code.split("\n")[:2]
    assert "yb = Yb" in first and code.line_map[first.index("yb = Yb")] == (None, 0)
    assert "added by the grader" in code.locate(first.index("yb = Yb") + 1)
    assert code.locate(3).startswith("cell ")  # the student's own lines keep their cell and line


def test_unreached_backward_is_a_note_not_a_flag(graded):
    ex = graded("l4_if_false.ipynb").exercise(4)
    assert ex.integrity == [] and any("never ran" in note and ".backward()" in note for note in ex.notes)


def test_backward_that_runs_is_still_flagged(graded):
    ex = graded("l4_live_backward.ipynb").exercise(4)
    assert ex.integrity and ex.score == 0


def test_validation_loss_after_the_update_is_not_the_block():
    code = load_submission(NOTEBOOKS / "l4_val_every_10.ipynb").exercises[4]
    assert code.attempted and "dlogits = F.softmax" in code.code and "Ydev" not in code.code


@pytest.mark.parametrize("text,number", [("# Excercise 1", 1), ("Exercise #2", 2), ("## Ex. 3", 3), ("**EXERCISE 4**", 4),
                                         ("# exercise-2: cross entropy", 2)])
def test_headers_written_differently(text, number):
    assert [n for _, n in headers_of(text, markdown=not text.startswith("# "))] == [number]


@pytest.mark.parametrize("text", ["# example 2", "# exp 1", "# Exercises 1 to 4 below", "# extra 3"])
def test_words_that_are_not_headers(text):
    assert headers_of(text) == []


def test_reach_records_only_statements_that_ran():
    code = "x = 1\nif False:\n    y = x.grad\ndef f():\n    return x.backward()\nf\n"
    tree = instrument(ast.parse(code), [3, 5])
    reach, ns = Reach([3, 5]), {}
    reach.install(ns)
    exec(compile(tree, "<s>", "exec"), ns)
    assert reach.report(code) == []
    ns["f"].__globals__["x"] = type("X", (), {"backward": lambda self: 1})()
    ns["f"]()
    assert reach.report(code) == [5]
    assert Reach([3]).report("__bpn_reach__ = print") == [3]  # code that names the recorder: all counted as run


def test_duplicate_file_is_noted_and_flagged(grader):
    from grader.course.summary import submission_flags

    result = grader.grade([FIXTURES / "folders" / "dup_old"])
    assert result.duplicates and "graded ex2_cross_entropy.py (named like the stub)" in result.duplicates[0]
    assert "duplicate" in submission_flags(result.to_dict())


def test_nothing_ran_is_not_called_stopping_before_it(grader, write):
    path = write("ex3_batchnorm.py", "# Exercise 3\ndhprebn_x = undefined_name * 2\ndhprebn = dhprebn_x + 0\n")
    ex = grader.grade([path]).exercise(3)
    assert "line 2" in ex.error and "nothing of your code ran" in ex.checks[0].message


def test_a_stop_after_some_code_ran_still_says_so(grader, write):
    path = write("ex3_batchnorm.py", "# Exercise 3\nx = 1\ndhprebn_x = undefined_name * 2\ndhprebn = dhprebn_x + 0\n")
    ex = grader.grade([path]).exercise(3)
    assert "your code stopped before it" in ex.checks[0].message
