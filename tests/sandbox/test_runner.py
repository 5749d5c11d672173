"""Student code runs in a forked child of a warm worker; the parent gets plain tensors and data."""
from __future__ import annotations

import pytest

from grader.sandbox.limits import Limits
from grader.model import PUBLIC
from grader.sandbox.runner import Sandbox


@pytest.fixture(scope="module")
def sandbox(names_path):
    with Sandbox(names_path) as sb:
        yield sb


def run(sandbox, code, exercise=2, **limits):
    return sandbox.run(exercise, code, PUBLIC, Limits(**limits))


def test_answers_come_back_as_plain_tensors(sandbox):
    out = run(sandbox, "dlogits = torch.ones_like(logits)")
    assert out.stopped == "" and out.error is None
    assert out.tensors["logits"].shape == (32, 27) and out.meta["values"]["logits"]["kind"] == "tensor"


def test_the_child_sees_no_graph_and_no_grad(sandbox):
    out = run(sandbox, "print(logits.requires_grad, logits.grad, loss.grad_fn, torch.is_grad_enabled())\ndlogits = None")
    assert out.output.strip() == "False None None False"


def test_printed_output_is_captured_separately(sandbox):
    out = run(sandbox, "print('logits          | exact: True  | approximate: True  | maxdiff: 0.0')\ndlogits = None")
    assert "exact: True" in out.output and out.meta["values"]["logits"]["kind"] == "none"


def test_output_is_truncated_not_buffered(sandbox):
    out = run(sandbox, "print('x' * 1_000_000)\ndlogits = None", output_bytes=1000)
    assert len(out.output) == 1000 and out.output_truncated and out.stopped == ""


def test_exception_reports_the_students_line_and_keeps_earlier_answers(sandbox):
    out = run(sandbox, "dlogits = torch.zeros_like(logits)\nx = 1\nboom = logits @ logits\n")
    assert out.error["lineno"] == 3 and "RuntimeError" in out.error["message"]
    assert out.tensors["logits"].shape == (32, 27)


def test_unknown_lecture_name_is_explained(sandbox):
    out = run(sandbox, "dlogits = bnorm_gain * 2\n")
    assert out.error["message"].startswith("uses `bnorm_gain`, which the lecture's forward pass does not define")


def test_failing_call_statements_are_skipped_with_a_warning(sandbox):
    out = run(sandbox, "compare('logits', dlogits, logits)\ndlogits = torch.zeros_like(logits)\n")
    assert out.error is None and out.meta["warnings"][0]["lineno"] == 1
    assert "logits" in out.tensors


def test_time_limit_kills_the_run_and_the_worker_goes_on(sandbox):
    out = run(sandbox, "while True:\n    pass\n", seconds=1)
    assert out.stopped == "stopped after 1 s: time limit"
    assert run(sandbox, "dlogits = logits * 0").stopped == ""


def test_os_exit_midway_is_reported(sandbox):
    out = run(sandbox, "print('before')\nimport os\nos._exit(0)\ndlogits = logits")
    assert "exited (code 0) before finishing" in out.stopped and out.output.strip() == "before"


def test_clean_environment_and_private_working_directory(sandbox):
    out = run(sandbox, "import os\nprint(sorted(os.environ))\nprint(os.getcwd())\ndlogits = None")
    env_line, cwd = out.output.strip().splitlines()
    assert "BACKPROP_NINJA_NAMES" not in env_line and "bpn-run-" in cwd


def test_each_run_starts_from_a_fresh_namespace(sandbox):
    run(sandbox, "logits.mul_(0)\nimport torch\ntorch.zeros = None\ndlogits = None")
    out = run(sandbox, "print(float(logits.abs().sum()) > 0, torch.zeros is not None)\ndlogits = None")
    assert out.output.strip() == "True True"


def test_cuda_lines_from_colab_run_on_the_cpu(sandbox):
    out = run(sandbox, "device = 'cuda'\ndlogits = torch.ones_like(logits).to(device).cuda()\ndlogits = dlogits.to(device='cuda')")
    assert out.error is None and out.tensors["logits"].shape == (32, 27)
