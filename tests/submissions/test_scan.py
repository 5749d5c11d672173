"""The static scan: autograd and ways around the guards are flagged with their line; honest code is not."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.submissions.scan import scan

ROOT = Path(__file__).resolve().parents[2]

# (code, line, words the finding must contain)
FLAGGED = [
    ("x = 1\nloss.backward()", 2, ".backward()"),
    ("dlogits = logits.grad", 1, "reads .grad"),
    ("g = loss.grad_fn", 1, ".grad_fn"),
    ("logits.retain_grad()", 1, ".retain_grad()"),
    ("d = torch.autograd.grad(loss, logits)", 1, "torch.autograd"),
    ("from torch.autograd import grad", 1, "imports torch.autograd"),
    ("import torch.autograd.functional as AF", 1, "imports torch.autograd"),
    ("from torch import autograd", 1, "imports torch.autograd"),
    ("import torch.autograd.forward_ad as fw", 1, "imports torch.autograd"),
    ("d = torch.func.grad(f)(logits)", 1, "torch.func"),
    ("from torch.func import jacrev", 1, "imports torch.func"),
    ("from torch import func", 1, "imports torch.func"),
    ("import functorch", 1, "functorch"),
    ("from functorch import grad", 1, "functorch"),
    ("with torch.enable_grad():\n    pass", 1, "torch.enable_grad"),
    ("torch.set_grad_enabled(True)", 1, "set_grad_enabled"),
    ("torch.set_grad_enabled(mode=True)", 1, "set_grad_enabled"),
    ("torch._C._set_grad_enabled(True)", 1, "_set_grad_enabled"),
    ("x = logits.clone()\nx.requires_grad = True", 2, "requires_grad = True"),
    ("x.requires_grad_()", 1, ".requires_grad_()"),
    ("x.requires_grad_(True)", 1, ".requires_grad_()"),
    ("x = torch.zeros(3, requires_grad=True)", 1, "requires_grad=True"),
    ("getattr(loss, 'backward')()", 1, "'backward'"),
    ("getattr(loss, 'back' + 'ward')()", 1, "'backward'"),
    ("torch.Tensor.__dict__['backward'](loss)", 1, "'backward'"),
    ("exec('loss.backward()')", 1, ".backward() (autograd) (inside exec)"),
    ("exec(code)", 1, "runs code built at run time (exec)"),
    ("eval(compile(src, 'x', 'exec'))", 1, "runs code built at run time"),
    ("m = __import__('functorch')", 1, "'functorch'"),
    ("import grader.guards", 1, "grader's own modules"),
    ("from grader import compare", 1, "grader's own modules"),
    ("import sys\nsys.modules['grader.guards'].uninstall()", 2, "'grader.guards'"),
    ("cmp.__globals__['guards']", 1, "__globals__"),
    ("import ctypes", 1, "ctypes"),
    ("torch._C._EngineBase", 1, "torch._C"),
    ("def helper(t):\n    return t.grad\n", 2, "reads .grad"),  # only the lecture's cmp may read .grad
    # issue 14: other spellings of imports, backward kernels, threads, fresh interpreters, the engine
    ("c = __import__('ctypes')", 1, "imports ctypes"),
    ("import importlib\nc = importlib.import_module('ct' + 'ypes')", 2, "imports ctypes"),
    ("import builtins\nimp = getattr(builtins, '__imp' + 'ort__')", 2, "'__import__'"),
    ("m = __import__(name)", 1, "imports a module named at run time"),
    ("import _ctypes", 1, "imports ctypes"),
    ("d = torch.ops.aten.nll_loss_backward(g, p, Yb, None, 1, -100, w)", 1, "backward kernel nll_loss_backward"),
    ("k = getattr(torch.ops.aten, 'tanh_' + 'backward')", 1, "'tanh_backward'"),
    ("import threading", 1, "starts a thread"),
    ("from concurrent.futures import ThreadPoolExecutor", 1, "starts a thread"),
    ("import _thread", 1, "starts a thread"),
    ("import subprocess", 1, "starts another program"),
    ("import multiprocessing", 1, "starts another program"),
    ("import os\nos.execv('/bin/sh', ['sh'])", 2, "starts another program"),
    ("import os\nos.posix_spawn('/bin/sh', ['sh'], {})", 2, "starts another program"),
    ("import sys\nexe = sys.executable", 2, "sys.executable"),
    ("e = torch.autograd.variable.ImperativeEngine()", 1, "ImperativeEngine"),
    ("e.run_backward((l,), (g,), False, False, (w,), True, False)", 1, "run_backward"),
    ("with torch.inference_mode(False):\n    pass", 1, "inference_mode(False)"),
    ("torch.set_grad_enabled.__bases__[0](True)", 1, "__bases__"),
    ("import gc\nobjs = gc.get_objects()", 1, "imports gc"),
]


@pytest.mark.parametrize("code, line, words", FLAGGED, ids=[c for c, _, _ in FLAGGED])
def test_flagged_with_its_line(code, line, words):
    found = scan(code)
    assert any(at == line and words in what for at, what in found), found


HONEST = [
    "dlogits = F.softmax(logits, 1)\ndlogits[range(n), Yb] -= 1\ndlogits /= n",
    "with torch.no_grad():\n    dh = dlogits @ W2.T",
    "torch.set_grad_enabled(False)",
    "x = torch.zeros(3, requires_grad=False)\nx.requires_grad = False\nx.requires_grad_(False)",
    "dC = torch.zeros_like(C)\ndC.index_add_(0, Xb.view(-1), demb.view(-1, n_embd))",
    "p.grad = None",  # writing .grad (the lecture's loop does) is not reading autograd's answer
    "def cmp(s, dt, t):\n    ex = torch.all(dt == t.grad).item()\n    print(s, ex)",
    "print('backward pass done'); cmp('logprobs', dlogprobs, logprobs)",
    "import math\nimport numpy as np",
    "with torch.inference_mode():\n    dh = dlogits @ W2.T",
    "import platform\nprint(platform.system())",
    "def tanh_backward(dh, h):\n    return (1 - h**2) * dh\ndhpreact = helpers.tanh_backward(dh, h)",
    "import os\nprint(os.getpid())",
    "this is not python (",
]


@pytest.mark.parametrize("code", HONEST)
def test_honest_code_is_not_flagged(code):
    assert scan(code) == []


def test_a_renamed_checker_may_read_grad_when_named():
    code = "def check(s, dt, t):\n    return dt == t.grad\n"
    assert scan(code) and scan(code, checkers=("cmp", "check")) == []


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("ex[123]_*.py")) + sorted((ROOT / "exercises").glob("*.py")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_reference_solutions_and_stubs_are_clean(path):
    assert scan(path.read_text()) == []


def test_every_hostile_case_that_expects_a_flag_is_flagged_statically_or_at_run_time():
    """The static half of the suite's integrity verdicts (the run-time half is tests/test_hostile.py)."""
    static_only = {"read_grad": "reads .grad", "patched_grader": "grader's own modules", "segfault": "ctypes",
                   "tamper_guards": "'grader.sandbox.guards'", "obfuscated_backward": "'backward'"}
    for name, words in static_only.items():
        found = scan((ROOT / "tests" / "hostile" / f"{name}.py").read_text())
        assert any(words in what for _, what in found), (name, found)
    for name in ("patched_torch", "lying_subclass", "fake_pass", "output_flood", "network", "environment"):
        assert scan((ROOT / "tests" / "hostile" / f"{name}.py").read_text()) == [], name
