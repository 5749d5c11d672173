"""Follow-through grading end to end (issue 11): one slip costs one line, one cause gets one message."""
from __future__ import annotations

import csv
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
from grader.course.batch import run_batch
from grader.course.export import gradescope_results, junit_xml
from grader.exercises import EX1_NAMES
from grader.grading import Grader
from grader.options import Limits, Options
from grader.report import scorecard

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
EX1 = (SOLUTIONS / "ex1_backprop_one_by_one.py").read_text()


def ex1_with(write, old: str, new: str):
    assert old in EX1, old
    return write("ex1.py", EX1.replace(old, new))


def grade1(grader, path):
    return grader.grade([path], exercise=1).exercise(1)


def failing(ex):
    return {c.name: c for c in ex.checks if c.status != "pass"}


def test_one_wrong_line_costs_that_gradient_only_and_is_named_first(grader, write):
    ex = grade1(grader, ex1_with(write, "dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = -1.0"))
    assert ex.score == 25 and set(failing(ex)) == {"logprobs"}
    assert "1/n" in failing(ex)["logprobs"].message and failing(ex)["logprobs"].cause == "own"
    assert len(ex.fix_first) == 1 and "dlogprobs[range(n), Yb] = -1.0" in ex.fix_first[0]
    probs = next(c for c in ex.checks if c.name == "probs")
    # the lecture's cmp line is still what the student's own cmp shows; the row says why it counts
    assert probs.status == "pass" and probs.cause == "inherited" and probs.upstream == ["logprobs"]
    assert probs.exact is False and "1/n" not in probs.message  # one cause, one message


def test_all_zeros_and_all_none_score_zero_with_follow_through(grader, write):
    zeros = "\n".join(f"d{name} = torch.zeros_like({name})" for name in EX1_NAMES)
    ex = grade1(grader, write("zeros.py", zeros))
    assert ex.score == 0 and ex.status == "not attempted" and "zero" in " ".join(ex.notes)
    # zeros where the gradient really is zero (dlogit_maxes, db1) still count in a real attempt
    ex = grade1(grader, write("ones.py", zeros.replace("dlogprobs = torch.zeros_like", "dlogprobs = torch.ones_like")))
    assert ex.score == 2 and {c.name for c in ex.checks if c.passed} == {"logit_maxes", "b1"}
    nones = "\n".join(f"d{name} = None" for name in EX1_NAMES)
    ex = grade1(grader, write("nones.py", nones))
    assert ex.score == 0 and ex.status == "not attempted"


def test_a_statement_that_raises_costs_its_gradient_only(grader, write):
    ex = grade1(grader, ex1_with(write, "dh = dlogits @ W2.T", "dh = dlogits @ W2"))
    assert ex.score == 25 and set(failing(ex)) == {"h"}
    assert failing(ex)["h"].status == "error" and "RuntimeError" in failing(ex)["h"].message
    assert ex.fix_first == ["line 17: `dh = dlogits @ W2` (dh is wrong here)"]
    assert ex.error == ""  # told once, on dh's row
    w2 = next(c for c in ex.checks if c.name == "W2")
    assert w2.status == "pass" and "never ran" in w2.message and "line 17" in w2.message


def test_aliasing_names_both_lines_and_fails_that_gradient_only(grader, write):
    ex = grade1(grader, ex1_with(write, "dhprebn = dbndiff.clone()", "dhprebn = dbndiff"))
    assert ex.score == 25 and set(failing(ex)) == {"bndiff"}
    check = failing(ex)["bndiff"]
    assert check.cause == "changed" and "line 28" in check.message and "line 31" in check.message
    assert "`dhprebn = dbndiff`" in check.message and ".clone()" in check.message
    assert len(ex.fix_first) == 1 and "dhprebn = dbndiff" in ex.fix_first[0]


def test_a_hard_coded_batch_size_fails_its_own_gradient_on_the_hidden_variant_only(grader, write):
    ex = grade1(grader, ex1_with(write, "dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(32), Yb] = -1.0 / 32"))
    assert ex.score == 25 and set(failing(ex)) == {"logprobs"}
    message = failing(ex)["logprobs"].message
    assert "batch of 17" in message and "hard-codes 32" in message and "1337" not in message


def test_size_one_dimensions_pass_where_the_lecture_would_use_them(grader, write):
    ex = grade1(grader, ex1_with(write, "dbnmeani = (-dbndiff).sum(0, keepdim=True)", "dbnmeani = (-dbndiff).sum(0)"))
    assert ex.score == 26
    note = next(c for c in ex.checks if c.name == "bnmeani").message
    assert "(64,)" in note and "keepdim" in note
    ex = grade1(grader, ex1_with(write, "db1 = dhprebn.sum(0)", "db1 = dhprebn.sum(0, keepdim=True)"))
    assert ex.score == 25 and set(failing(ex)) == {"b1"}


def test_a_crash_in_one_cell_does_not_stop_the_next_cell(grader, tmp_path):
    lines = EX1.splitlines()
    first = "\n".join(lines[:8]) + "\nscratch = undefined_helper(dprobs)\nprint('never printed')"
    rest = "\n".join(lines[8:])
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Exercise 1: backprop through the whole thing manually"),
                nbformat.v4.new_code_cell(first), nbformat.v4.new_code_cell(rest)]
    path = tmp_path / "cells.ipynb"
    nbformat.write(nb, path)
    ex = grader.grade([path], exercise=1).exercise(1)
    assert ex.score == 26, [(c.name, c.message) for c in ex.checks if not c.passed]
    assert "undefined_helper" in ex.error and "never printed" not in ex.output


def test_the_same_in_a_py_export_its_cell_markers_are_cells(grader, write):
    """A notebook saved as .py (`# %%`) runs cell by cell too: a crash in one cell does not stop the next one."""
    lines = EX1.splitlines()
    path = write("export.py", "# %%\n# Exercise 1\n" + "\n".join(lines[:8]) + "\nscratch = undefined_helper(dprobs)\n"
                               "print('never printed')\n# %%\n" + "\n".join(lines[8:]) + "\n")
    ex = grader.grade([path], exercise=1).exercise(1)
    assert ex.score == 26, [(c.name, c.message) for c in ex.checks if not c.passed]
    assert "undefined_helper" in ex.error and "never printed" not in ex.output
    assert not [c.message for c in ex.checks if "never ran" in c.message]  # the second cell ran: plain passes
    two = write("export2.py", "# %%\n# Exercise 2\ndlogits = F.softmax(logits, 1) * scale\n# %%\n"
                              "dlogits = F.softmax(logits, 1)\ndlogits[range(n), Yb] -= 1\ndlogits /= n\n")
    ex2 = grader.grade([two], exercise=2).exercise(2)
    assert ex2.score == ex2.max_score and ex2.error.startswith("line 3: uses `scale`")


def test_a_cell_that_does_not_compile_fails_alone(grader, tmp_path):
    """Jupyter compiles each cell on its own: a scratch cell with a broken indent raises there, the rest runs."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("## Exercise 1"),
                nbformat.v4.new_code_cell("dC = torch.zeros_like(C)\nfor k in range(n):\ndC[Xb[k]] += demb[k]"),
                nbformat.v4.new_code_cell(EX1)]
    nbformat.write(nb, tmp_path / "indent.ipynb")
    ex = grader.grade([tmp_path / "indent.ipynb"], exercise=1).exercise(1)
    assert ex.score == 26, [(c.name, c.message) for c in ex.checks if not c.passed]
    assert ex.error == ("cell 2, line 3: IndentationError: expected an indented block after 'for' statement "
                        "at cell 2, line 2")
    nb.cells.append(nbformat.v4.new_code_cell("loss.backward()\ndC = C.grad"))  # the scan reads every cell that parses
    nbformat.write(nb, tmp_path / "indent.ipynb")
    ex = grader.grade([tmp_path / "indent.ipynb"], exercise=1).exercise(1)
    assert ex.integrity == ["cell 4, line 2: reads .grad (autograd's answer)"] and ex.score == 0
    one = tmp_path / "one.py"  # one cell (a stub): its SyntaxError is the whole run's, as before
    one.write_text(EX1.replace("dh = dlogits @ W2.T", "dh = dlogits @@ W2.T"))
    ex = grader.grade([one], exercise=1).exercise(1)
    assert ex.score == 0 and ex.error.startswith("line ") and "SyntaxError" in ex.error


def scratch_then_answer(tmp_path, scratch: str, name: str = "scratch.ipynb") -> Path:
    """A notebook: a scratch cell written before the gradients it uses exist, then the whole exercise 1."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(scratch), nbformat.v4.new_markdown_cell("## Exercise 1"),
                nbformat.v4.new_code_cell(EX1)]
    nbformat.write(nb, tmp_path / name)
    return tmp_path / name


def test_a_gradient_assigned_again_after_its_cell_raised_counts_as_assigned_last(grader, tmp_path):
    """Run top to bottom, the scratch cell raises (demb does not exist yet); the exercise's own cell assigns dC
    afresh later, and that one counts: dC passes, and the error is told once, as the exercise's note."""
    path = scratch_then_answer(tmp_path, "dC = torch.zeros_like(C)\nfor k in range(n):\n    dC[Xb[k]] += demb[k]")
    ex = grader.grade([path], exercise=1).exercise(1)
    assert ex.score == 26, [(c.name, c.message) for c in ex.checks if not c.passed]
    assert ex.error.startswith("cell 1, line 3: uses `demb` before your code assigns it (cell 3, line ")
    assert ex.error.endswith(") (NameError)") and ex.fix_first == []


def test_a_gradient_read_but_never_computed_is_named_as_one(grader, write):
    """A loop that reads demb the code never computes (in a notebook, exercise 1's stale one): said as such."""
    ex = grade1(grader, ex1_with(write, "demb = dembcat.view(emb.shape)", "pass"))
    assert "uses `demb`, a gradient your code never computes before this line (NameError)" in ex.error


def test_a_gradient_only_updated_after_its_cell_raised_keeps_the_error(grader, tmp_path):
    """`dC += ...` after the raise builds on what the raising cell left (here ones, never zeroed again): dC is wrong,
    and its error stays the raise in its first cell, where follow-through finds its first own statement failing."""
    code = EX1.replace("dC = torch.zeros_like(C)", "")
    assert code != EX1
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("dC = torch.ones_like(C)\ndC += demb.sum() * 0"),
                nbformat.v4.new_markdown_cell("## Exercise 1"), nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, tmp_path / "update.ipynb")
    ex = grader.grade([tmp_path / "update.ipynb"], exercise=1).exercise(1)
    assert set(failing(ex)) == {"C"} and failing(ex)["C"].status == "error", [(c.name, c.message) for c in ex.checks]
    assert failing(ex)["C"].message.startswith("cell 1, line 2 raised NameError")


def test_what_the_follow_through_run_prints_or_raises_never_reaches_the_result(grader, write):
    # dlogprobs is zero as written; given the right value its |sum| is exactly 1.0
    code = EX1.replace("dlogprobs[range(n), Yb] = -1.0 / n", "pass").replace(
        "dprobs = (1.0 / probs) * dlogprobs",
        "print('LEAK', float(dlogprobs.abs().sum()))\n"
        "dprobs = (1.0 / probs) * dlogprobs if dlogprobs.abs().sum() == 0 else "
        "exec('raise ValueError(\"LEAK2 %r\" % float(dlogprobs.abs().sum()))')")
    result = grader.grade([write("leak.py", code)], exercise=1)
    text = json.dumps(result.to_dict()) + scorecard.scorecard_html(result)
    assert "LEAK 0.0" in text  # the run as written is the student's own, shown as always
    assert "LEAK 1.0" not in text and "LEAK2 1.0" not in text


def test_timeouts_are_named_with_the_line_that_was_running(names_path, write):
    code = EX1.replace("dh = dlogits @ W2.T", "while True:\n    dh = dlogits @ W2.T")
    with Grader(names_path, Options(limits=Limits(seconds=3))) as grader:
        ex = grade1(grader, write("slow.py", code))
    assert ex.status == "timeout" and ex.timed_out
    assert "time limit" in ex.error and ("while running line 18: `dh = dlogits @ W2.T`" in ex.error
                                         or "while running line 17: `while True:`" in ex.error), ex.error


def test_a_notebook_without_exercise_2_is_out_of_44_everywhere(grader, tmp_path, names_path):
    work = tmp_path / "class" / "alice"
    work.mkdir(parents=True)
    for stub in ("ex1_backprop_one_by_one.py", "ex3_batchnorm.py", "ex4_training.py"):
        shutil.copy(SOLUTIONS / stub, work / stub)
    result = grader.grade([work])
    assert (result.score, result.max_score) == (39, 44) and not result.passed
    ex2 = result.exercise(2)
    assert ex2.status == "not found" and ex2.max_score == 5 and ex2.score == 0
    assert json.loads(json.dumps(result.to_dict()))["max_score"] == 44
    assert sum(float(t["score"]) for t in gradescope_results(result)["tests"]) == 39
    assert sum(float(t["max_score"]) for t in gradescope_results(result)["tests"]) == 44
    cases = ET.fromstring(junit_xml(result)).iter("testcase")
    assert sum(1 for _ in cases) == 26 + 1 + 1 + 8
    assert "39 / 44" in scorecard.scorecard_html(result)
    (tmp_path / "class" / "bob").mkdir()  # a classmate who did exercise 2: the class's assignment has all four
    shutil.copy(SOLUTIONS / "ex2_cross_entropy.py", tmp_path / "class" / "bob" / "ex2_cross_entropy.py")
    run_batch(tmp_path / "class", tmp_path / "out", names=names_path, options=Options(), jobs=1)
    rows = {row["key"]: row for row in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert (float(rows["alice"]["total"]), float(rows["alice"]["max"])) == (39, 44)
    assert '39 / 44' in (tmp_path / "out" / "students" / "alice.html").read_text()


def test_follow_through_can_be_turned_off_in_the_rubric(names_path, write):
    path = ex1_with(write, "dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = -1.0")
    with Grader(names_path, Options(follow_through=False)) as grader:
        ex = grade1(grader, path)
    # as written, every cmp line downstream is off and costs its point (only the two ~zero gradients may pass)
    assert ex.score <= 2 and not ex.fix_first


def modes_of_runs(grader, path) -> tuple[list, object]:
    """(the mode and variant of every run the sandbox made, the exercise-1 result): a spy, the runs are real."""
    runs, real = [], grader.sandbox.run

    def spy(exercise, code, variant, limits, options=None, **kw):
        runs.append(((options or {}).get("mode", "as written"), variant.name))
        return real(exercise, code, variant, limits, options=options, **kw)
    grader.sandbox.run = spy
    try:
        return runs, grade1(grader, path)
    finally:
        del grader.sandbox.run


def test_a_variant_right_as_written_needs_no_follow_through_run(grader, write):
    runs, ex = modes_of_runs(grader, write("ex1.py", EX1))
    assert ex.score == 26 and [mode for mode, _ in runs] == ["as written"] * 3


def test_only_the_variants_wrong_as_written_are_followed_through(grader, write):
    # a hard-coded 32 is right on the public batch of 32 and wrong on the hidden variants
    runs, ex = modes_of_runs(grader, ex1_with(write, "dlogprobs[range(n), Yb] = -1.0 / n", "dlogprobs[range(n), Yb] = -1.0 / 32"))
    followed = [variant for mode, variant in runs if mode == "follow_through"]
    assert followed == ["hidden-1"]  # the batch of 17; hidden-2 keeps the batch of 32, where the 32 is right
    assert set(failing(ex)) == {"logprobs"} and ex.score == 25
