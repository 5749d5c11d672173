"""Sessions: the runs of one submission share a confined child, never what a run was given or left behind."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from grader.grading import Grader
from grader.sandbox.limits import Limits
from grader.model import HIDDEN, PUBLIC
from grader.sandbox import syscalls
from grader.sandbox.runner import Sandbox

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
PID = "import os\nprint('pid', os.getpid())\n"


@pytest.fixture(scope="module")
def sandbox(names_path):
    with Sandbox(names_path) as sb:
        yield sb


def run(sandbox, code, session, exercise=2, variant=PUBLIC, **limits):
    return sandbox.run(exercise, code, variant, Limits(**limits), session=session)


def pid_of(outcome) -> int:
    return int(next(line.split()[1] for line in outcome.output.splitlines() if line.startswith("pid ")))


def test_runs_of_one_session_share_a_child_and_a_new_session_gets_another(sandbox):
    first = [run(sandbox, PID + "dlogits = None", "s1", variant=v) for v in (PUBLIC, *HIDDEN)]
    assert len({pid_of(o) for o in first}) == 1
    other = run(sandbox, PID + "dlogits = None", "s2")
    alone = [run(sandbox, PID + "dlogits = None", None) for _ in range(2)]
    sandbox.end_session()
    assert len({pid_of(first[0]), pid_of(other), *map(pid_of, alone)}) == 4


def test_end_session_ends_the_child(sandbox):
    before = run(sandbox, PID + "dlogits = None", "s3")
    sandbox.end_session()
    after = run(sandbox, PID + "dlogits = None", "s3")
    sandbox.end_session()
    assert pid_of(before) != pid_of(after)


def test_each_run_gets_its_own_copy_of_what_it_is_given(sandbox):
    reference = run(sandbox, "print('sum', float(probs.sum()), float(W1.sum()), int(Xb.sum()))\ndlogits = None", None)
    spoil = "dlogits = probs\ndlogits[range(n), Yb] -= 1\nW1.mul_(0)\nXb.zero_()\n" + PID
    first = run(sandbox, spoil, "s4")
    second = run(sandbox, PID + "print('sum', float(probs.sum()), float(W1.sum()), int(Xb.sum()))\ndlogits = None", "s4")
    sandbox.end_session()
    assert pid_of(first) == pid_of(second)
    assert [line for line in second.output.splitlines() if line.startswith("sum")] == reference.output.splitlines()


def test_what_a_run_changes_in_the_process_is_undone_before_the_next(sandbox):
    messy = (PID + "import builtins, signal, sys, random\n"
             "torch.set_default_dtype(torch.float64)\nbuiltins.len = None\nos.environ['LEFT'] = '1'\n"
             "os.environ = {'LEFT': '2'}\n"
             "open('left.txt', 'w').write('x')\nsignal.alarm(30)\nrandom.seed(1)\ntorch.manual_seed(1)\n"
             "sys.setrecursionlimit(50)\ntorch.set_num_threads(3)\nsys.stdout = open(os.devnull, 'w')\ndlogits = None\n")
    look = (PID + "import signal, random\n"
            "print('state', torch.get_default_dtype(), len([1]), os.environ.get('LEFT'), os.path.exists('left.txt'),"
            " signal.alarm(0), sys.getrecursionlimit() > 50, torch.get_num_threads(), type(os.environ).__name__)\nprint('draws', random.random(), float(torch.rand(1)))\n"
            "dlogits = None\n").replace("import signal", "import signal, sys")
    alone = run(sandbox, look, None)
    first = run(sandbox, messy, "s5")
    second = run(sandbox, look, "s5")
    sandbox.end_session()
    assert pid_of(first) == pid_of(second)
    state = next(line for line in second.output.splitlines() if line.startswith("state"))
    assert state == "state torch.float32 1 None False 0 True 1 _Environ"
    draws = [line for line in second.output.splitlines() if line.startswith("draws")]
    assert draws == [line for line in alone.output.splitlines() if line.startswith("draws")]


def test_what_a_run_prints_stays_with_that_run(sandbox):
    one = run(sandbox, "print('one')\ndlogits = None", "s6")
    two = run(sandbox, "print('two')\ndlogits = None", "s6")
    sandbox.end_session()
    assert one.output == "one\n" and two.output == "two\n"


@pytest.mark.parametrize("leftover", [
    pytest.param("import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n",
                 marks=pytest.mark.skipif(syscalls.available(), reason="no thread can start (seccomp): see the next test")),
    "import os, time\nif os.fork() == 0:\n    time.sleep(30)\n    os._exit(0)\n",
    "torch.Tensor.backward = lambda self, *a, **k: None\n",  # the guards undone
    "Xtr[0, 0] = 5\n",  # the dataset, which runs share uncopied
], ids=["thread", "process", "guards", "dataset"])
def test_a_run_that_leaves_something_behind_ends_its_session(sandbox, leftover):
    first = run(sandbox, PID + leftover + "dlogits = None", "s7")
    second = run(sandbox, PID + "print('xtr', int(Xtr[0, 0]))\nloss.backward()\ndlogits = None", "s7")
    sandbox.end_session()
    assert first.stopped == "" and pid_of(first) != pid_of(second)
    assert "xtr 0" in second.output
    assert second.error and second.error["integrity"]  # the next run has its guards again


@pytest.mark.skipif(not syscalls.available(), reason="no seccomp binding (pyseccomp, libseccomp2)")
def test_a_thread_cannot_start_so_the_session_goes_on(sandbox):
    first = run(sandbox, PID + "import threading, time\nthreading.Thread(target=time.sleep, args=(30,)).start()\n"
                               "dlogits = None", "s9")
    second = run(sandbox, PID + "dlogits = None", "s9")
    sandbox.end_session()
    assert "can't start new thread" in first.meta["warnings"][0]["message"]
    assert pid_of(first) == pid_of(second)


def test_a_limit_hit_after_other_runs_is_judged_in_a_fresh_child(sandbox):
    hog = PID + "torch._kept = torch.ones(40_000_000)\ndlogits = None"  # 160 MB kept alive in the child
    grow = PID + "more = torch.ones(40_000_000)\ndlogits = None"  # 160 MB more: fits alone, not on top
    limits = {"memory_mb": 300}
    alone = run(sandbox, grow, None, **limits)
    first = run(sandbox, hog, "s8", **limits)
    second = run(sandbox, grow, "s8", **limits)
    sandbox.end_session()
    assert alone.stopped == "" and alone.error is None
    assert first.stopped == "" and second.stopped == "" and second.error is None
    assert pid_of(first) != pid_of(second)


def test_a_timeout_is_not_run_twice(sandbox):
    run(sandbox, "dlogits = None", "s9")
    start = time.monotonic()
    out = run(sandbox, "while True:\n    pass\n", "s9", seconds=1)
    elapsed = time.monotonic() - start
    after = run(sandbox, PID + "dlogits = None", "s9")
    sandbox.end_session()
    assert "time limit" in out.stopped and elapsed < 1.9
    assert after.stopped == "" and after.error is None


def test_exercise_1_runs_after_2_and_3_so_its_answers_cannot_reach_them(names_path, tmp_path):
    """A submission's exercise 1 stashes its dhprebn and dlogits where exercises 2 and 3 look for them."""
    ex1 = (SOLUTIONS / "ex1_backprop_one_by_one.py").read_text() + "\ntorch._leak = (dhprebn, dlogits)\n"
    (tmp_path / "ex1_backprop_one_by_one.py").write_text(ex1)
    (tmp_path / "ex2_cross_entropy.py").write_text("dlogits = torch._leak[1]\n")
    (tmp_path / "ex3_batchnorm.py").write_text("dhprebn = torch._leak[0]\n")
    with Grader(names_path) as grader:
        result = grader.grade([tmp_path])
    scores = {ex.id: (ex.score, ex.max_score) for ex in result.exercises}
    assert scores[1][0] == scores[1][1] > 0
    assert scores[2][0] == 0 and scores[3][0] == 0
    assert [ex.id for ex in result.exercises if ex.found] == [1, 2, 3]  # a folder is graded out of all four


def test_a_run_that_spoils_its_inputs_does_not_cost_the_next_exercise(names_path, tmp_path):
    """Exercise 3 changes what it was given in place after answering; exercise 1 still gets the lecture's values."""
    ex3 = (SOLUTIONS / "ex3_batchnorm.py").read_text() + "\nbnraw.mul_(0)\nhpreact.zero_()\nlogits.add_(1)\n"
    (tmp_path / "ex3_batchnorm.py").write_text(ex3)
    (tmp_path / "ex1_backprop_one_by_one.py").write_text((SOLUTIONS / "ex1_backprop_one_by_one.py").read_text())
    with Grader(names_path) as grader:
        result = grader.grade([tmp_path])
    assert [(ex.id, ex.score == ex.max_score > 0) for ex in result.exercises if ex.found] == [(1, True), (3, True)]
