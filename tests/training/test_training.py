"""Exercise 4 end to end: the student's block trains in a real child process, autograd checks it in this one."""
from __future__ import annotations

import base64
import json
import re
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.training import plots, run as training_run
from grader.report import scorecard as report
from grader.exercises import EX4_NAMES

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "ex4_training.py"
STUB = ROOT / "exercises" / "ex4_training.py"
LECTURE_BLOCK = ROOT / "tests" / "fixtures" / "scripts" / "ex4_block.py"  # pasted from the notebook, dC by a loop
REFERENCE = SOLUTION.read_text()
SHORT = training_run.QUICK_STEPS  # the quick check's steps: checkpoints at 0, 1, 10, 100 and the last


@pytest.fixture
def ex4(grader, write):
    """Grade code (or a path) as exercise 4 with some exercise-4 options: ex4(code, steps=..., time_limit=...)."""
    saved = dict(grader.options.ex4)

    def _grade(code_or_path, **options):
        path = code_or_path if isinstance(code_or_path, Path) else write("ex4_block.py", code_or_path)
        grader.options.ex4 = {**saved, **options}
        try:
            return grader.grade([path], exercise=4).exercise(4)
        finally:
            grader.options.ex4 = saved
    return _grade


def by_name(ex) -> dict:
    return {c.name: c for c in ex.checks}


def steps_of(ex) -> list[int]:
    return [ck["step"] for ck in ex.extra["training"]["checkpoints"]]


def test_reference_solution_trains_like_autograd(ex4):
    ex = ex4(SOLUTION)
    assert ex.score == ex.max_score == 8, [(c.name, c.message) for c in ex.checks if not c.passed]
    assert [c.name for c in ex.checks] == [*EX4_NAMES, "training"]
    t = ex.extra["training"]
    assert t["steps_done"] == t["steps"] == SHORT and steps_of(ex) == [0, 1, 10, 100, SHORT - 1]
    assert abs(t["loss"]["loss"] - t["loss"]["autograd_loss"]) < 1e-4
    assert base64.b64decode(t["plot"]).startswith(b"\x89PNG")
    speed = next(line for line in ex.extra["summary"] if line.startswith("speed:"))
    assert "back to back" in speed and "usual cause" not in speed  # the reference against itself: never "slow"
    assert t["timing"]["pairs"] >= 3 and 0 < t["timing"]["reference_step_ms"] and t["timing"]["limit_seconds"] > 3
    names = [c["name"] for c in t["checkpoints"][0]["intermediates"]]
    assert names == ["logits", "h", "hpreact", "hprebn", "embcat", "emb"]  # what the reference block defines
    assert t["wrong_intermediates"] == []
    json.dumps(ex.to_dict())  # results stay JSON-able
    html = report.render("_exercise.html.j2", ex=ex)
    assert "data:image/png;base64," in html and "step 100" in html and "trains as autograd does" in html


def test_a_wrong_intermediate_is_blamed_where_it_starts(ex4):
    """Error carried forward: a wrong dlogits costs the training row; every parameter's gradient, right given right
    inputs (the block once more at step 0, grader/training/follow.py), keeps its point and says what to fix first."""
    ex = ex4(REFERENCE.replace("dlogits /= n\n", ""), steps=SHORT)
    checks = by_name(ex)
    assert all(checks[name].status == "pass" and checks[name].cause == "inherited" for name in EX4_NAMES)
    assert checks["W2"].message == ("right given right inputs; in your training it comes out wrong because your "
                                    "`dlogits` inside the block is wrong: fix that first")
    assert not checks["W2"].diagnosis and not checks["W2"].hints  # an inherited row carries no cause of its own
    training = checks["training"]
    assert training.status == "fail" and ex.score == 7
    # the cause is told once, on the row it costs, in the catalogue's words
    assert "your `dlogits` inside the block is wrong from step 0 on: dlogits is n = 32 times too large" in training.message
    assert "drifted" not in training.message and "parameters end up elsewhere (" not in training.message
    # the scorecard opens with the lines to fix, as exercises 1-3's do
    assert ex.fix_first == ["line 7 and line 8: `dlogits = F.softmax(logits, 1) / dlogits[range(n), Yb] -= 1` "
                            "(dlogits is wrong here)"]
    # the checkpoint table shows the wrong intermediate under the seven gradients, with its cause
    t = ex.extra["training"]
    assert [w["name"] for w in t["wrong_intermediates"]] == ["logits"]
    wrong = t["wrong_intermediates"][0]
    assert wrong["step"] == 0 and wrong["cause"].startswith("dlogits is n = 32 times too large")
    assert all(c["status"] == "fail" for c in wrong["cells"]) and len(wrong["cells"]) == len(t["checkpoints"])
    html = " ".join(report.render("_exercise.html.j2", ex=ex).split())
    assert "dlogits <span class=\"muted\">(inside your block)</span>" in html
    assert "of your <span class=\"mono\">dlogits</span> inside the block (wrong from step 0; what is computed from it inherits it): dlogits is n = 32" in html


def test_an_intermediate_that_means_something_else_costs_nothing(ex4):
    """dlogits left unscaled and the 1/n applied later: every parameter's gradient is right, so the block is right."""
    code = (REFERENCE.replace("dlogits /= n\n", "").replace("dh = dlogits @ W2.T", "dh = dlogits @ W2.T / n")
            .replace("dW2 = h.T @ dlogits", "dW2 = h.T @ dlogits / n").replace("db2 = dlogits.sum(0)", "db2 = dlogits.sum(0) / n"))
    ex = ex4(code, steps=20)
    assert ex.score == ex.max_score == 8, [(c.name, c.message) for c in ex.checks if not c.passed]


def test_strict_grading_fails_every_gradient_that_reads_a_wrong_intermediate(ex4, grader):
    """follow_through = false (the rubric): as written, a wrong dlogits fails every parameter it feeds, once each."""
    grader.options.follow_through = False
    try:
        ex = ex4(REFERENCE.replace("dlogits /= n\n", ""), steps=20)
    finally:
        grader.options.follow_through = True
    checks = by_name(ex)
    assert checks["W2"].status == "fail" and checks["W2"].message.startswith(
        "at step 0: your `dlogits` inside the block is wrong (") and "everything after it inherits it, dW2 included" in checks["W2"].message
    # the cause is named once, in the catalogue's words (not also as compare's guess at a factor), on every row it costs
    assert checks["W2"].message.count("a missing 1/n?") == 1 and "off by a factor" not in checks["W2"].message
    assert "fix that first. Likely cause: dlogits is n = 32 times too large" in checks["W2"].message
    assert not checks["W2"].diagnosis and not checks["W2"].hints
    assert ex.score == 0


def test_a_gradient_wrong_given_right_inputs_is_its_own_mistake(ex4):
    """Two mistakes: dlogits (costs the training row) and dW2's own transpose (costs W2's row, told from right inputs)."""
    ex = ex4(REFERENCE.replace("dlogits /= n\n", "").replace("dW2 = h.T @ dlogits", "dW2 = dlogits.T @ h"), steps=20)
    checks = by_name(ex)
    assert [name for name in EX4_NAMES if checks[name].status != "pass"] == ["W2"]
    assert checks["W2"].cause == "own" and checks["W2"].message.startswith("given right inputs at step 0: dW2 has shape")
    assert "transposed" in checks["W2"].diagnosis and ex.score == 6
    assert [line.split(":")[0] for line in ex.fix_first] == ["line 11", "line 7 and line 8"]
    assert "the update needs each d<name> shaped like its parameter; dW2 has shape (27, 200)" in checks["training"].message


def test_the_follow_through_run_prints_nothing_the_student_sees(ex4):
    """What the block prints given right inputs (there: the correct dlogits) never reaches the result."""
    block = REFERENCE.replace("dlogits /= n\n", "print('sum', round(float(dlogits.abs().sum()), 4))\n")
    ex = ex4(block, steps=2)
    sums = [float(line.split()[1]) for line in ex.output.splitlines() if line.startswith("sum ")]
    # as written, dlogits is 32 times too large (|.| sums to 30-64); given right inputs it would sum to under 2
    assert ex.score == 7 and sums and all(v > 10 for v in sums), sums
    assert not re.search(r"sum [01]\.\d", json.dumps(ex.to_dict()))


def test_a_wrong_parameter_formula_is_blamed_on_itself(ex4):
    ex = ex4(REFERENCE.replace("dbngain = (bnraw * dhpreact)", "dbngain = (hpreact * dhpreact)"), steps=SHORT)
    checks = by_name(ex)
    assert checks["bngain"].message.startswith("at step 0: dbngain") and "inside the block" not in checks["bngain"].message
    assert "your dbngain is wrong from step 0 on" in checks["training"].message


def test_untouched_stub_scores_zero_without_a_traceback(ex4):
    ex = ex4(STUB, steps=SHORT)
    assert ex.score == 0 and ex.status == "not attempted" and ex.error == ""
    assert all(by_name(ex)[name].status == "missing" for name in EX4_NAMES)
    assert by_name(ex)["training"].status == "missing" and "not attempted yet" in by_name(ex)["training"].message


def test_lecture_block_pasted_unchanged_with_its_loop_over_xb(ex4):
    ex = ex4(LECTURE_BLOCK, steps=SHORT)
    assert ex.score == ex.max_score == 8 and not ex.integrity, [(c.name, c.message) for c in ex.checks]
    speed = next(line for line in ex.extra["summary"] if line.startswith("speed:"))
    loop = LECTURE_BLOCK.read_text().splitlines().index("for k in range(Xb.shape[0]):") + 1
    assert "slower than the reference's" in speed  # ~4x; the line is named when even the faster pairs are >= 2x
    if "usual cause" in speed:
        assert f"the Python loop at line {loop} (`for k in range(Xb.shape[0]):`) is the usual cause" in speed
        assert "index_add_" in speed


def test_a_wrong_gradient_gets_its_cause_hints_and_error_map_as_in_exercises_1_to_3(ex4):
    """The diagnosis catalogue runs at the first checkpoint where a gradient is wrong, on that step's own parameters."""
    ex = ex4(REFERENCE.replace("dC = torch.zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, n_embd))",
                               "dC = torch.zeros_like(C)\ndC[Xb] += demb"), steps=20)
    checks = by_name(ex)
    assert [name for name in EX4_NAMES if checks[name].status != "pass"] == ["C"]
    c = checks["C"]
    assert "appears several times in Xb" in c.diagnosis and "index_add_" in c.diagnosis, c.diagnosis
    assert len(c.hints) == 3 and c.error_map and c.error_map_alt
    html = report.render("_exercise.html.j2", ex=ex)
    assert "Likely cause:" in html and "appears several times in Xb" in html
    shaped = by_name(ex4(REFERENCE.replace("dW1 = embcat.T @ dhprebn", "dW1 = dhprebn.T @ embcat"), steps=20))["W1"]
    assert shaped.status == "fail" and "transposed" in shaped.diagnosis and shaped.hints
    assert not any(c.diagnosis or c.hints for c in ex4(SOLUTION, steps=20).checks)


def test_a_gradient_the_lecture_update_takes_trains(ex4):
    """(200,) for bngain's (1, 200): `p.data += -lr * grad` keeps p's shape, so it trains as the lecture's loop would;
    (1, 200) for b1's (200,) would change b1's shape, and stops the training."""
    dropped = REFERENCE.replace("dbngain = (bnraw * dhpreact).sum(0, keepdim=True)", "dbngain = (bnraw * dhpreact).sum(0)")
    dropped = dropped.replace("dbnbias = dhpreact.sum(0, keepdim=True)", "dbnbias = dhpreact.sum(0)")
    ex = ex4(dropped, steps=20)
    assert ex.score == ex.max_score == 8, [(c.name, c.message) for c in ex.checks if not c.passed]
    assert by_name(ex)["training"].message.startswith("trains as autograd does")
    kept = by_name(ex4(REFERENCE.replace("db1 = dhprebn.sum(0)", "db1 = dhprebn.sum(0, keepdim=True)"), steps=20))
    assert kept["b1"].status != "pass" and kept["training"].message.startswith("training stopped at step 0")


def test_one_wrong_parameter_gradient_fails_that_parameter(ex4):
    ex = ex4(REFERENCE.replace("dW1 = embcat.T @ dhprebn", "dW1 = embcat.T @ dhpreact"), steps=SHORT)
    checks = by_name(ex)
    assert {name for name in EX4_NAMES if checks[name].status != "pass"} == {"W1"}
    assert checks["W1"].status == "fail" and checks["W1"].message.startswith("at step 0: dW1 differs from autograd")
    assert checks["training"].status == "fail" and ex.score == 6


def test_the_subtlest_wrong_block_fails_the_training_check_on_its_own(ex4):
    """n for n-1 in dhprebn ends ~1e-3 off autograd's parameters after the quick check's steps (PARAM_TOL 1e-4), while
    a correct block in another float order ends within ~4e-7 (benchmarks/bench_ex4.py --drift)."""
    from grader.training.check import PARAM_TOL

    wrong = ex4(REFERENCE.replace("n/(n-1)*bnraw", "1.0*bnraw"))
    training = by_name(wrong)["training"]
    assert training.status == "fail" and "the parameters end up elsewhere" in training.message, training.message
    assert max(wrong.extra["training"]["loss"]["params_off"].values()) > 5 * PARAM_TOL
    loops = REFERENCE.replace("dC = torch.zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, n_embd))",
                              "dC = torch.zeros_like(C)\nfor k in range(Xb.shape[0]):\n"
                              "  for j in range(Xb.shape[1]):\n    dC[Xb[k, j]] += demb[k, j]")
    right = ex4(loops)
    assert by_name(right)["training"].status == "pass" and right.score == right.max_score
    assert max(right.extra["training"]["loss"]["params_off"].values()) < PARAM_TOL / 20


def test_shape_error_stops_training_and_names_the_parameter(ex4):
    ex = ex4(REFERENCE.replace("db1 = dhprebn.sum(0)", "db1 = dhprebn.sum(0, keepdim=True)"), steps=SHORT)
    checks = by_name(ex)
    assert {name for name in EX4_NAMES if checks[name].status != "pass"} == {"b1"}
    assert "db1 has shape (1, 200) but b1 has shape (200,)" in checks["b1"].message
    assert "training stopped at step 0" in checks["training"].message and steps_of(ex) == [0]


def test_exception_in_the_block_gives_its_line(ex4):
    code = REFERENCE.replace("dh = dlogits @ W2.T", "dh = dlogits @ W2")
    ex = ex4(code, steps=SHORT)
    line = code.splitlines().index("dh = dlogits @ W2") + 1
    assert ex.error.startswith(f"line {line}: RuntimeError") and ex.score == 0
    assert by_name(ex)["W2"].status == "error" and "never assigned" in by_name(ex)["W2"].message


def test_nan_from_a_division_by_zero_midway_is_caught_at_its_step(ex4):
    ex = ex4(REFERENCE.replace("db2 = dlogits.sum(0)", "db2 = dlogits.sum(0) * (i - 5) / (i - 5)"), steps=SHORT)
    checks = by_name(ex)
    assert {name for name in EX4_NAMES if checks[name].status != "pass"} == {"b2"}
    assert checks["b2"].message.startswith("at step 5: db2 contains 27 NaN") and "division by zero" in checks["b2"].message
    assert steps_of(ex) == [0, 1, 5] and "training stopped at step 5: db2 holds NaN" in checks["training"].message


def test_a_block_far_slower_than_the_reference_is_too_slow_to_grade_with_its_line(ex4):
    # one multiply-add per element, in Python: ~1 s a step, thousands of times the reference's (a two-level loop,
    # ~50 ms a step, is only ~100x and 40 of its steps fit in the limit's 3 s constant: never a test of the limit)
    loop = ("dW1 = torch.zeros_like(W1)\nfor a in range(W1.shape[0]):\n  for b in range(W1.shape[1]):\n"
            "    for k in range(n):\n      dW1[a, b] += embcat[k, a] * dhprebn[k, b]")
    code = REFERENCE.replace("dW1 = embcat.T @ dhprebn", loop)
    ex = ex4(code, steps=40)
    line = code.splitlines().index("for a in range(W1.shape[0]):") + 1
    assert ex.score == 0 and all(c.status == "error" for c in ex.checks)
    for c in ex.checks:  # one verdict on every row, never a score that depends on how far it got
        assert c.message.startswith("too slow to grade: ") and "50x the reference solution's" in c.message
        assert f"the Python loop at line {line}" in c.message
    assert ex.extra["training"]["stop"] == "time"


def test_autograd_call_is_flagged(ex4):
    ex = ex4("loss.backward()\n" + REFERENCE, steps=SHORT)
    assert ex.integrity and ex.zeroed and ex.score == 0


def test_hard_coded_batch_size_fails_the_hidden_variant(ex4):
    ex = ex4(REFERENCE.replace("dlogits /= n", "dlogits /= 32"), steps=SHORT)
    checks = by_name(ex)
    assert all(checks[name].status == "pass" for name in EX4_NAMES)  # each right given right inputs, on every variant
    training = checks["training"]  # the public run trains right; the hard-coded 32 is wrong on the batch of 17
    assert training.status == "fail" and "trains as autograd does" in training.message
    assert "your `dlogits` inside the block is wrong at step 0 on a batch of 17" in training.message and ex.score == 7
    hard = ex4(REFERENCE.replace("db2 = dlogits.sum(0)", "db2 = dlogits.sum(0) * n / 32"), steps=SHORT)
    assert by_name(hard)["b2"].status == "fail" and "a batch of 17" in by_name(hard)["b2"].message
    assert by_name(hard)["training"].status == "pass"  # the public run is correct


def test_full_run_stopped_by_its_time_limit_still_evaluates(ex4):
    ex = ex4(SOLUTION, full=True, time_limit=5.0)
    t = ex.extra["training"]
    assert t["mode"] == "full" and 0 < t["steps_done"] < 200_000 and t["stop"] == "time"
    assert 1.9 < t["full"]["val"] < 3.3 and len(t["full"]["samples"]) == 20
    assert any(line.startswith(f"after {t['steps_done']:,} steps and BatchNorm calibration: train") for line in ex.extra["summary"])
    html = report.render("_exercise.html.j2", ex=ex)
    assert "Sampled from your network" in html and t["full"]["samples"][0] in html


def test_loss_curve_plot_is_a_png():
    png = plots.loss_curves_png([{"title": "t", "block": 100, "series": {"your gradients": [0.5, 0.4], "autograd": [0.5, 0.4]}}])
    assert base64.b64decode(png).startswith(b"\x89PNG")
    assert plots.loss_curves_png([{"title": "t", "block": 100, "series": {"autograd": []}}]) == ""


def _descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


def test_ctrl_c_stops_a_full_run_cleanly_with_what_was_measured(tmp_path):
    out_json = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "grader", "grade", str(SOLUTION), "--full", "--json", str(out_json)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT, env=dict(os.environ))
    deadline = time.monotonic() + 60
    while len(_descendants(proc.pid)) < 2 and time.monotonic() < deadline:  # the worker, then the run's child
        time.sleep(0.2)
    time.sleep(2.0)  # a few thousand steps of training
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=120)[0].decode()
    assert "Traceback" not in output and "stopped by you (Ctrl-C)" in output, output
    t = json.loads(out_json.read_text())["exercises"][0]["extra"]["training"]
    assert t["stop"] == "user" and 0 < t["steps_done"] < 200_000 and len(t["full"]["samples"]) == 20


def test_syntax_error_grades_zero_with_its_line(ex4):
    ex = ex4(REFERENCE.replace("dW2 = h.T @ dlogits", "dW2 = h.T @@ dlogits"), steps=SHORT)
    line = REFERENCE.splitlines().index("dW2 = h.T @ dlogits") + 1
    assert ex.error.startswith(f"line {line}: SyntaxError") and ex.score == 0
    assert all(c.status == "error" for c in ex.checks) and "training did not run" in ex.checks[-1].message


def test_a_block_that_changes_the_loop_is_caught_by_the_replayed_batches(ex4):
    hack = "import sys\nsys.modules['grader.training.loop'].draw_batch = lambda ds, g, b: torch.zeros(b, dtype=torch.long)\n"
    ex = ex4(hack + REFERENCE, steps=SHORT)
    checks = by_name(ex)
    assert all(checks[name].status == "error" and "not the loop's" in checks[name].message for name in EX4_NAMES)
    assert checks["training"].status == "fail" and ex.score == 0


def test_a_block_that_updates_a_parameter_itself_is_stopped(ex4):
    code = REFERENCE.replace("dbngain = (bnraw * dhpreact).sum(0, keepdim=True)",
                             "dbngain = bngain\ndbngain *= (bnraw * dhpreact).sum(0, keepdim=True)")
    ex = ex4(code, steps=SHORT)
    assert "changed bngain in place at step 0" in ex.error and ex.checks[-1].status == "error"
    assert by_name(ex)["bngain"].status == "fail" and by_name(ex)["W2"].status == "pass"


def test_only_the_parent_says_a_run_was_stopped_by_the_user():
    """A child that says "stopped" when the grader did not ask (its code sent itself the signal) stopped itself."""
    from types import SimpleNamespace

    from grader.sandbox.runner import Outcome
    from grader.training.run import Plan, StudentRun

    plan = Plan.from_options(SimpleNamespace(ex4={}))
    claimed = StudentRun.decode(Outcome(meta={"stop": "user", "steps_done": 101, "stopped_by_user": False}), plan)
    assert claimed.stop == "self" and "stopped itself after 101" in claimed.stopped_message()
    asked = StudentRun.decode(Outcome(meta={"stop": "", "steps_done": 50, "stopped_by_user": True}), plan)
    assert asked.stop == "user" and "stopped by you (Ctrl-C)" in asked.stopped_message()
