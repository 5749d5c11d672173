"""load_submission on real student-shaped files: which exercises, attempted or not, which code, which lines."""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from grader.submissions.notebook import EX1_GRADS, neutralise
from grader.submissions.reader import EXERCISE_IDS, SubmissionError, detect_exercise, load_submission

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOTEBOOKS = sorted(p.name for p in (FIXTURES / "notebooks").glob("*.ipynb") if not p.name.startswith("bad_"))
SCRIPTS = sorted(p.name for p in (FIXTURES / "scripts").glob("*.py") if p.name not in ("empty.py", "latin1.py"))


def path_of(name: str) -> Path:
    """A fixture file by name."""
    return FIXTURES / ("notebooks" if name.endswith(".ipynb") else "scripts") / name


def load(name: str, exercise: int | None = None):
    """load_submission on a fixture."""
    return load_submission(path_of(name), exercise)


def lines(code) -> list[str]:
    """The lines of an ExerciseCode's code."""
    return code.code.split("\n")[: len(code.line_map)]


def find(code, start: str) -> int:
    """1-based line of `code` whose stripped text starts with `start`."""
    return next(k for k, line in enumerate(lines(code), 1) if line.strip().startswith(start))


def where(code, start: str) -> str:
    """locate() of the first line starting with `start`."""
    return code.locate(find(code, start))


def original(path: Path, cell: int | None, line: int) -> str:
    """Line `line` of cell `cell` (or of the .py file) as the student saved it."""
    if cell is None:
        return path.read_text().split("\n")[line - 1]
    return nbformat.read(path, as_version=4).cells[cell - 1].source.split("\n")[line - 1]


@pytest.mark.parametrize("name", NOTEBOOKS + SCRIPTS)
def test_every_line_traces_back_to_the_students_file(name):
    for code in load(name).exercises.values():
        assert len(code.line_map) == len(code.code.split("\n")) - 1 == code.code.count("\n")
        for text, (cell, line) in zip(lines(code), code.line_map):
            if (cell, line) == (None, 0):  # a line the grader added: `yb = Yb`, `dlogits = dlogits_fast`
                assert re.fullmatch(r"\w+ = \w+|if '\w+' in globals\(\): \w+ = \w+", text), text
                continue
            saved = original(path_of(name), cell, line)
            ipython = re.match(r"\s*([%!?]|get_ipython)", saved) or saved.rstrip().endswith("?")
            control = re.sub(r"\b(break|continue)\b", "pass", saved)
            assert text.strip() in (saved.strip(), control.strip()) or ipython and text.strip() in ("", "pass")


@pytest.mark.parametrize("name", NOTEBOOKS + SCRIPTS)
def test_extracted_code_compiles(name):
    for ex, code in load(name).exercises.items():
        if (name, ex) != ("syntax_error.ipynb", 3):
            compile(code.code, name, "exec")
        assert code.source == name and code.exercise == ex


def test_answer_notebook():
    sub = load("answer.ipynb")
    assert sorted(sub.exercises) == list(EXERCISE_IDS) and sub.notes == []
    ex1, ex2, ex3, ex4 = (sub.exercises[k] for k in EXERCISE_IDS)
    assert all(c.attempted and c.notes == [] for c in sub.exercises.values())
    assert where(ex1, "dC = torch.zeros_like(C)") == "cell 12, line 35"
    assert "cmp('C', dC, C)" in ex1.code  # left in: the runtime's cmp is a no-op
    assert where(ex2, "dlogits /= n") == "cell 14, line 5"
    assert "loss_fast" not in ex2.code  # exercise 2's forward cell stays out
    assert where(ex3, "dhprebn = bngain") == "cell 21, line 17"
    assert ex4.locate(1) == "cell 23, line 59" and lines(ex4)[0] == "# backward pass"
    assert lines(ex4)[-1] == "grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]"
    assert where(ex4, "grads = [") == "cell 23, line 90"
    assert "dlogits = F.softmax(logits, 1)" in lines(ex4) and "#loss.backward()" in ex4.code
    for absent in ("loss = F.cross_entropy", "lr = ", "p.data", "Xb, Yb =", "lossi", "# update"):
        assert absent not in ex4.code
    assert ex1.locate(999) == "line 999 of the extracted code"


def test_starter_notebook_nothing_attempted():
    sub = load("starter.ipynb")
    assert sorted(sub.exercises) == [1, 2, 3, 4]
    assert not any(c.attempted for c in sub.exercises.values())
    assert sub.exercises[1].code == "" and sub.exercises[1].line_map == []
    assert where(sub.exercises[2], "dlogits = None") == "cell 14, line 5"
    ex4 = sub.exercises[4]
    assert where(ex4, "loss.backward()") == "cell 23, line 62"  # live in the starter: kept, the runtime blocks it
    assert "dC, dW1, db1, dW2, db2, dbngain, dbnbias = None" in ex4.code and "if i >= 100" not in ex4.code


def test_starter_exported_with_in_markers():
    sub = load("starter_export.py")
    assert sorted(sub.exercises) == [1, 2, 3, 4] and not any(c.attempted for c in sub.exercises.values())
    assert where(sub.exercises[2], "dlogits = None") == "line 248"
    assert where(sub.exercises[4], "grads = [") == "line 411"


def test_answers_after_the_closing_marker_with_placeholders_kept():
    sub = load("after_markers.ipynb")
    assert all(c.attempted and c.notes == [] for c in sub.exercises.values())
    ex2, ex4 = sub.exercises[2], sub.exercises[4]
    assert find(ex2, "dlogits = None") < find(ex2, "dlogits = F.softmax(logits, 1)")
    assert where(ex2, "dlogits = F.softmax") == "cell 14, line 7"
    assert find(ex4, "dC, dW1, db1, dW2, db2, dbngain, dbnbias = None") < find(ex4, "dlogits = F.softmax")
    assert where(ex4, "loss.backward()") == "cell 23, line 62" and ex4.locate(1) == "cell 23, line 59"
    assert "p.data" not in ex4.code and "break" not in ex4.code


def test_one_gradient_per_cell():
    sub = load("spread_cells.ipynb")
    ex1, ex2, ex3 = sub.exercises[1], sub.exercises[2], sub.exercises[3]
    assert all(c.notes == [] for c in sub.exercises.values())  # dcounts = ... then dcounts += ... is no rewrite
    for name in EX1_GRADS:
        assert any(line.startswith(name + " =") for line in lines(ex1)), name
    assert "cmp(" not in ex1.code + ex2.code + ex3.code  # the cmp-only cells are not needed
    assert where(ex1, "dlogprobs = torch") == "cell 13, line 1"
    assert where(ex1, "dC = torch.zeros_like(C)") == "cell 38, line 1"
    assert len({cell for cell, _ in ex1.line_map}) == 26
    assert where(ex2, "dlogits = F.softmax") == "cell 42, line 1" and len(ex2.line_map) == 3
    assert where(ex3, "dpre_sum = ") == "cell 46, line 1"  # an intermediate cell the answer reads
    assert where(ex3, "dhprebn = ") == "cell 47, line 1"


def test_names_and_the_training_loop_written_twice():
    sub = load("rewritten.ipynb")
    ex1, ex2, ex4 = sub.exercises[1], sub.exercises[2], sub.exercises[4]
    assert ex1.notes == ["dbnmeani is written 2 times (cell 12 line 29, cell 13 line 2); the last one counts"]
    assert ex2.notes == ["dlogits is written 2 times (cell 15 line 2, cell 16 line 3); the last one counts"]
    assert find(ex2, "dlogits = F.softmax(logits, 1) / n") < find(ex2, "dlogits /= n")
    assert ex4.notes == ["the exercise 4 training loop is in 2 cells (cell 25, cell 26); the last one counts"]
    assert {cell for cell, _ in ex4.line_map} == {26}
    assert sub.exercises[3].notes == []


def test_backward_pass_in_helper_functions():
    sub = load("helpers.ipynb")
    ex2, ex3, ex4 = sub.exercises[2], sub.exercises[3], sub.exercises[4]
    assert ex2.checkers == ("check", "cmp")  # the renamed cmp: bind it to the no-op too
    assert where(ex2, "def ce_backward") == "cell 9, line 7"
    assert "def check" not in ex2.code + ex3.code + ex4.code
    assert where(ex2, "check('logits'") == "cell 15, line 3"
    assert where(ex3, "dhprebn = bn_backward(dhpreact)") == "cell 22, line 1"
    assert where(ex4, "def bn_backward") == "cell 9, line 13"
    assert where(ex4, "def backward_all") == "cell 24, line 25"  # defined in the loop's cell, before the loop
    assert find(ex4, "def backward_all") < find(ex4, "dC, dW1, db1, dW2, db2, dbngain, dbnbias = backward_all()")
    assert "n_hidden = 200" not in ex4.code
    assert all(c.attempted for c in sub.exercises.values())


def test_ipython_syntax_is_neutralised_in_place():
    sub = load("magics.ipynb")
    ex1, ex2, ex4 = sub.exercises[1], sub.exercises[2], sub.exercises[4]
    assert "%%time" not in ex1.code and ex1.locate(1) == "cell 12, line 2"  # %%time: a blank line, dropped
    assert lines(ex2)[1:3] == ["", ""] and ex2.locate(2) == "cell 14, line 2"  # ?F.cross_entropy, F.softmax??
    for kept in ("display(dlogits.shape)", "print(dlogits.shape, logits.shape)", "dlogits = F.softmax(logits, 1).to(device)",
                 "device = 'cuda' if torch.cuda.is_available() else 'cpu'", "dlogits = dlogits.cpu()"):
        assert kept in lines(ex2)
    assert "%time" not in ex2.code and "wget" not in "".join(c.code for c in sub.exercises.values())
    assert lines(ex4)[find(ex4, "if i == 0:")] == "  pass" and where(ex4, "if i == 0:") == "cell 23, line 64"


def test_saved_outputs_are_ignored():
    raw = json.loads(path_of("outputs_contradict.ipynb").read_text())
    assert not any("execution_count" in c for c in raw["cells"] if c["cell_type"] == "code")
    assert "exact: True" in json.dumps(raw["cells"][13]["outputs"])
    sub = load("outputs_contradict.ipynb")
    assert sorted(sub.exercises) == [1, 2, 3, 4] and not any(c.attempted for c in sub.exercises.values())


def test_huge_outputs():
    assert path_of("huge_outputs.ipynb").stat().st_size > 1_300_000
    sub = load("huge_outputs.ipynb")
    assert all(c.attempted for c in sub.exercises.values())
    assert sum(len(c.code) for c in sub.exercises.values()) < 10_000
    assert sub.exercises[4].code == load("answer.ipynb").exercises[4].code


def test_syntax_error_in_saved_source():
    sub = load("syntax_error.ipynb")
    ex3, ex4 = sub.exercises[3], sub.exercises[4]
    assert ex3.attempted and ex3.notes == []  # the runtime reports the SyntaxError
    with pytest.raises(SyntaxError) as err:
        compile(ex3.code, "x", "exec")
    assert ex3.locate(err.value.lineno) == "cell 21, line 17"
    answer = load("answer.ipynb").exercises[4]  # the loop cell does not parse: the block is found by text
    assert (ex4.code, ex4.line_map, ex4.notes) == (answer.code, answer.line_map, [])


def test_no_headers_renamed_variables_hard_coded_sizes():
    sub = load("renamed.ipynb")
    assert sorted(sub.exercises) == [1, 2, 3, 4] and all(c.attempted for c in sub.exercises.values())
    ex1, ex2, ex3, ex4 = (sub.exercises[k] for k in EXERCISE_IDS)
    assert "dlogprobs[range(n), Yb] = -1.0/32" in ex1.code and "h_prebn" in ex1.code
    assert "cmp( 'logits',dlogits ,logits )" in ex1.code
    assert where(ex2, "dlogits /= n") == "cell 13, line 5"
    assert where(ex3, "dhprebn = dhprebn.view(h_prebn.shape)") == "cell 15, line 2"  # h_prebn: the runtime reports it
    assert where(ex4, "grads = [") == "cell 16, line 88"


def test_forward_pass_in_the_same_cell_is_left_out():
    sub = load("forward_merged.ipynb")
    ex1, ex2 = sub.exercises[1], sub.exercises[2]
    assert ex1.notes == ["cell 11 lines 1-38 (the forward pass) are left out of exercise 1"]
    assert ex2.notes == ["cell 12 lines 1-19 (the forward pass) are left out of exercise 2"]
    assert "loss.backward()" not in ex1.code and "logprobs = probs.log()" not in ex1.code
    assert where(ex1, "dlogprobs = torch") == "cell 11, line 44" and "loss_fast" not in ex2.code


def test_exercise_4_loop_control_and_live_backward():
    ex4 = load("ex4_variants.ipynb").exercises[4]
    assert lines(ex4)[-1] == "if i >= 100: pass  # TODO: delete early breaking"
    assert "      continue" in lines(ex4)  # inside its own loop: kept
    assert "loss.backward() # use this for correctness comparisons, delete it later!" in lines(ex4)
    assert "dC = torch.zeros_like(C).to(device)" in lines(ex4) and ex4.attempted


def test_bare_answers_without_headers_or_forward_cells():
    sub = load("bare_answers.ipynb")  # dlogits afresh after a complete exercise 1 is exercise 2
    assert {ex: {cell for cell, _ in c.line_map} for ex, c in sub.exercises.items()} == {1: {11}, 2: {12}, 3: {13}, 4: {14}}
    assert all(c.attempted and c.notes == [] for c in sub.exercises.values())


def test_several_exercises_in_one_cell():
    sub = load("one_cell.ipynb")
    ex1, ex2, ex3, ex4 = (sub.exercises[k] for k in EXERCISE_IDS)
    assert where(ex1, "dC = torch.zeros_like(C)") == "cell 12, line 35" and "dlogits /= n" not in ex1.code
    assert where(ex2, "dlogits /= n") == "cell 12, line 92" and "loss_fast" not in ex2.code
    assert where(ex3, "dhprebn = bngain") == "cell 12, line 131" and "hpreact_fast" not in ex3.code
    assert ex2.notes == ["cell 12 lines 67-86 (the forward pass) are left out of exercise 2"]
    assert where(ex4, "grads = [") == "cell 13, line 90"


def test_percent_export_with_a_commented_cell_magic():
    sub = load("percent_magic.py")  # jupytext writes %%time as `# %%time`: not a cell marker
    assert sorted(sub.exercises) == [2] and where(sub.exercises[2], "dlogits /= n") == "line 8"
    assert "print(dlogits.shape)" not in sub.exercises[2].code


@pytest.mark.parametrize("name, message", [
    ("bad_invalid_json.ipynb", "not a Jupyter notebook (invalid JSON at line "),
    ("bad_not_notebook.ipynb", "not a Jupyter notebook (JSON without notebook cells)"),
    ("bad_nbformat3.ipynb", "nbformat 3 notebooks are not supported"),
    ("bad_empty.ipynb", "empty notebook"),
    ("bad_no_exercise.ipynb", "no exercise found: "),
    ("bad_binary.ipynb", "binary file"),
    ("latin1.py", "not UTF-8 text (byte 0xe9 on line 1)"),
    ("empty.py", "no exercise found: "),
    ("missing.py", "cannot read the file"),
])
def test_unreadable_files(name, message):
    with pytest.raises(SubmissionError) as err:
        load(name)
    assert str(err.value).startswith(f"{name}: ") and message in str(err.value) and "\n" not in str(err.value)


def test_forcing_an_exercise():
    assert sorted(load("answer.ipynb", exercise=3).exercises) == [3]
    assert sorted(load("alice_cell.py").exercises) == [2]  # by the names it assigns
    assert sorted(load("alice_cell.py", exercise=1).exercises) == [1]
    with pytest.raises(SubmissionError, match="no exercise 2 found"):
        load("bad_no_exercise.ipynb", exercise=2)


def test_plain_python_files():
    stub = load("ex2_cross_entropy.py").exercises[2]
    assert not stub.attempted and where(stub, "dlogits = None") == "line 7"
    assert sorted(load("ex1_partial.py").exercises) == [1]  # the ex1_ prefix beats "dlogits only"
    assert where(load("batchnorm_answer.py").exercises[3], "dhprebn =") == "line 3"  # '# Exercise 3:' header
    training = load("ex4_training.py").exercises[4]
    assert training.attempted and training.locate(1) == "line 59" and where(training, "grads = [") == "line 68"
    block = load("ex4_block.py").exercises[4]  # only the backward block: used as is
    assert block.attempted and lines(block)[0] == "# backward pass" and block.locate(1) == "line 2"  # after !nvidia-smi
    escapes = load("shell_escapes.py").exercises[2]
    assert lines(escapes)[1:4] == ["", "", ""] and lines(escapes)[6] == "    pass"


def test_whole_scripts():
    sub = load("whole_script.py")  # no cell markers, several exercise headers
    assert sorted(sub.exercises) == [1, 2, 3, 4] and all(c.attempted for c in sub.exercises.values())
    assert where(sub.exercises[3], "dhprebn = ") == "line 276"
    lecture = load("lecture_answer.py")  # a `# %%` export
    assert where(lecture.exercises[2], "dlogits /= n") == "line 240"
    assert where(lecture.exercises[4], "dlogits /= n") == "line 372"


@pytest.mark.parametrize("code, exercise", [
    ("dlogits = F.softmax(logits, 1)\ndlogits /= n", 2),
    ("dhprebn = bngain * dhpreact", 3),
    ("dlogits = 1\ndhprebn = 2", 1),
    ("dprobs = 1 / probs", 1),
    ("dC = torch.zeros_like(C)", 1),
    ("grads = [dC, dW1, db1, dW2, db2, dbngain, dbnbias]", 4),
    ("for i in range(10):\n  loss = f()\n  dC = g()\n  p.data += -0.1 * dC", 4),
    ("x = 1\nprint(x)", None),
    ("dlogits = (", 2),  # does not parse: read line by line
])
def test_detect_exercise(code, exercise):
    assert detect_exercise(code) == exercise


def test_neutralise_keeps_line_numbers():
    source = "%%bash\necho hi\nls"
    assert neutralise(source) == "\n\n"
    source = "x = 1\n!pip install torch \\\n  numpy\nfor i in y:\n    %time f(i)\nfiles = !ls\nF.softmax?"
    assert neutralise(source) == "x = 1\n\n\nfor i in y:\n    pass\nfiles = None\n"


COMPACT = [  # a student's own compact pipeline: no headers, no exercise 1 chain, exercises 2 and 3 written in one go
    "logits = h @ W2 + b2\nloss = F.cross_entropy(logits, Yb)",
    "dlogits = F.softmax(logits, 1)\ndlogits[range(n), Yb] -= 1\ndlogits /= n",
    "dh = dlogits @ W2.T\ndW2 = h.T @ dlogits\ndb2 = dlogits.sum(0)\ndhpreact = (1 - h**2) * dh",
    "dbngain = (bnraw * dhpreact).sum(0, keepdim=True)\n"
    "dhprebn = bngain*bnvar_inv/n * (n*dhpreact - dhpreact.sum(0) - n/(n-1)*bnraw*(dhpreact*bnraw).sum(0))",
]


def test_exercises_2_and_3_done_in_one_go_inside_a_compact_pipeline_are_found(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in COMPACT])
    nbformat.write(nb, tmp_path / "compact.ipynb")
    sub = load_submission(tmp_path / "compact.ipynb")
    assert sorted(sub.exercises) == [1, 2, 3]
    assert sub.exercises[2].notes == ["no cell of exercise 2 of its own: cell 2's dlogits, computed in one go, "
                                      "is graded as exercise 2 too"]
    assert "dhprebn = bngain*bnvar_inv/n" in sub.exercises[3].code and "dlogits" not in sub.exercises[3].code
    # the lecture's chain: its dlogits comes from dnorm_logits, not in one go; exercise 2 stays not found
    chain = ["dnorm_logits = counts * dcounts\ndlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)\n"
             "dlogits = dnorm_logits.clone()\ndlogits += F.one_hot(logits.max(1).indices, num_classes=27) * dlogit_maxes\n"
             "dh = dlogits @ W2.T"]
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in chain]), tmp_path / "chain.ipynb")
    assert sorted(load_submission(tmp_path / "chain.ipynb").exercises) == [1]
