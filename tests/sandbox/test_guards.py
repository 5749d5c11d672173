"""Run-time guards: every way to get autograd's answers is refused by name; the lecture's code still runs.

The guards are installed in this process around each test (and always uninstalled), on real torch.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from grader.sandbox import child, guards
from grader import model
from grader.exercises import get as get_exercise

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"


@pytest.fixture
def guarded():
    """The guards installed for one test; torch is restored afterwards whatever happens."""
    guards.install()
    try:
        yield
    finally:
        guards.uninstall()


@pytest.fixture(scope="module")
def forward(dataset):
    return model.forward_values(dataset, model.PUBLIC)


def namespace(forward) -> dict:
    s, values = forward
    return {"torch": torch, "F": F, "Yb": s.Yb, "f": lambda l: F.cross_entropy(l, s.Yb), **values,
            "loss": values["loss"]}


# (code a student might write, words the refusal must contain)
REFUSED = [
    ("loss.backward()", "loss.backward()"),
    ("torch.Tensor.backward(loss)", "loss.backward()"),
    ("torch.autograd.backward(loss)", "torch.autograd.backward()"),
    ("torch.autograd.grad(loss, logits)", "torch.autograd.grad()"),
    ("from torch.autograd import grad\ngrad(loss, logits)", "torch.autograd.grad()"),
    ("torch.autograd.functional.jacobian(f, logits)", "torch.autograd.functional.jacobian()"),
    ("torch.autograd.functional.vjp(f, logits)", "torch.autograd.functional.vjp()"),
    ("torch.autograd.functional.hessian(f, logits)", "torch.autograd.functional.hessian()"),
    ("torch.autograd.gradcheck(f, (logits,))", "torch.autograd.gradcheck()"),
    ("torch.func.grad(f)(logits)", "torch.func.grad()"),
    ("from torch.func import grad\ngrad(f)(logits)", "torch.func.grad()"),
    ("torch.func.grad_and_value(f)(logits)", "torch.func.grad_and_value()"),
    ("torch.func.vjp(f, logits)", "torch.func.vjp()"),
    ("torch.func.jvp(f, (logits,), (logits,))", "torch.func.jvp()"),
    ("torch.func.jacrev(f)(logits)", "torch.func.jacrev()"),
    ("torch.func.jacfwd(f)(logits)", "torch.func.jacfwd()"),
    ("torch.func.hessian(f)(logits)", "torch.func.hessian()"),
    ("import torch._functorch.eager_transforms as et\net.grad_impl(f, 0, False, (logits,), {})", "torch.func.grad()"),
    ("import functorch", "import functorch"),
    ("from functorch import grad", "import functorch"),
    ("with torch.enable_grad() as mode:\n    pass", "torch.enable_grad()"),
    ("@torch.enable_grad()\ndef f2(x):\n    return x\nf2(logits)", "torch.enable_grad()"),
    ("with torch.enable_grad():\n    pass", "torch.enable_grad()"),
    ("with torch.autograd.grad_mode.enable_grad():\n    pass", "torch.enable_grad()"),
    ("torch.set_grad_enabled(True)", "torch.set_grad_enabled(True)"),
    ("torch.autograd.set_grad_enabled(True)", "torch.set_grad_enabled(True)"),
    ("torch._C._set_grad_enabled(True)", "torch._C._set_grad_enabled(True)"),
    ("logits.requires_grad = True", "setting .requires_grad = True"),
    ("logits.requires_grad_()", ".requires_grad_()"),
    ("torch.nn.Parameter(logits).requires_grad_(True)", ".requires_grad_()"),
    ("import torch.autograd.forward_ad as fw\nwith fw.dual_level():\n    pass", "forward-mode autograd"),
    ("import torch.autograd.forward_ad as fw\nfw.make_dual(logits, logits)", "forward-mode autograd"),
    ("torch._C._set_fwd_grad_enabled(True)", "forward-mode autograd"),
    ("torch.autograd.variable.Variable._execution_engine.run_backward", "autograd's engine"),
]


@pytest.mark.parametrize("code, what", REFUSED, ids=[c for c, _ in REFUSED])
def test_autograd_is_refused_by_name(guarded, forward, code, what):
    with pytest.raises(guards.IntegrityError) as info:
        exec(code, namespace(forward))
    assert str(info.value).startswith(what) and str(info.value).endswith(guards.message("")[1:])


ALLOWED = [
    "with torch.no_grad():\n    x = logits * 2",
    "torch.set_grad_enabled(False)",
    "with torch.set_grad_enabled(False):\n    pass",
    "x = logits.data.clone()",
    "x = logits.detach().clone().requires_grad_(False)",
    "x = logits.clone()\nx.requires_grad = False",
    "x = F.one_hot(logits.max(1).indices, num_classes=logits.shape[1])",
    "x = torch.zeros(3, requires_grad=True) * 2\nassert x.grad_fn is None",  # no graph without grad mode
    "x = torch.nn.Parameter(torch.ones(3))\ny = (x * 2).sum()\nassert y.grad_fn is None",
    "assert not logits.requires_grad and logits.grad is None and not torch.is_grad_enabled()",
    "x = torch.func.vmap(torch.sum)(logits)",
    "print(logits[:2], repr(loss), f'{loss.item():.4f}', str(logits.shape))",
    "import copy, io, pickle\ncopy.deepcopy(logits); pickle.loads(pickle.dumps(logits))\ntorch.save(logits, io.BytesIO())",
    "x = logits.numpy().sum() + sum(logits.tolist()[0])",
    "x = torch.einsum('ij,ij->i', logits, logits)\ny = torch.zeros(5).index_add_(0, torch.tensor([0, 0]), torch.ones(2))",
    "lin = torch.nn.Linear(27, 3)\ny = lin(logits)\nassert y.grad_fn is None",
    "p = torch.nn.Parameter(torch.ones(3))\nopt = torch.optim.SGD([p], lr=0.1)\np.grad = torch.ones(3)\nopt.step()",
    "import torch.autograd.forward_ad as fw\nassert fw.unpack_dual(logits).tangent is None",
    "torch.enable_grad()\nassert not torch.is_grad_enabled()",  # built (as torch's own decorators do), never entered
]


@pytest.mark.parametrize("code", ALLOWED)
def test_what_the_lecture_uses_still_works(guarded, forward, code):
    exec(code, namespace(forward))


@pytest.mark.parametrize("exercise", [1, 2, 3])
def test_the_reference_solutions_run_under_the_guards(dataset, guarded, exercise):
    ex = get_exercise(exercise)
    s, values = model.forward_values(dataset, model.PUBLIC)
    ns = child.exercise_namespace(dataset, s, values, exercise)
    error, warnings = child.run_code((SOLUTIONS / ex.stub).read_text(), ns)
    assert error is None and warnings == []
    assert all(isinstance(ns["d" + name], torch.Tensor) for name in ex.graded)


def test_forward_tensors_carry_no_graph_and_no_grad(dataset):
    s, values = model.forward_values(dataset, model.PUBLIC)
    for name, t in {**values, **s.params}.items():
        assert not t.requires_grad and t.grad is None and t.grad_fn is None, name


def test_uninstall_restores_torch():
    before = (torch.Tensor.backward, torch.autograd.grad, torch.func.grad, torch.enable_grad, torch.set_grad_enabled,
              torch._C._set_grad_enabled, torch.autograd.variable.Variable._execution_engine, list(sys.meta_path))
    modes = (torch.is_grad_enabled(), torch._C._is_fwd_grad_enabled())
    guards.install()
    assert guards.installed() and torch.Tensor.backward is not before[0]
    guards.uninstall()
    after = (torch.Tensor.backward, torch.autograd.grad, torch.func.grad, torch.enable_grad, torch.set_grad_enabled,
             torch._C._set_grad_enabled, torch.autograd.variable.Variable._execution_engine, list(sys.meta_path))
    assert all(a is b for a, b in zip(before[:-1], after[:-1])) and before[-1] == after[-1]
    assert (torch.is_grad_enabled(), torch._C._is_fwd_grad_enabled()) == modes and not guards.installed()
    assert "requires_grad" not in vars(torch.Tensor) and "requires_grad_" not in vars(torch.Tensor)
    x = torch.ones(2, requires_grad=True)
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_exercise_4_may_set_requires_grad(forward):
    """Exercise 4's setup cell sets p.requires_grad = True; without grad mode that builds nothing."""
    guards.install(allow_requires_grad=True)
    try:
        x = torch.ones(3)
        x.requires_grad = True
        assert (x * 2).grad_fn is None
        with pytest.raises(guards.IntegrityError):
            (x * 2).sum().backward()
    finally:
        guards.uninstall()
