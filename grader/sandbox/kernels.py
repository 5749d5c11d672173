"""In the worker, once, before any child is forked: autograd's backward kernels and its engine refuse to run.

The run-time guards (grader/sandbox/guards.py) replace autograd's Python entry points by name; this
module cuts what they lead to, process-wide and for every thread:

- every aten operator whose name contains `backward` (nll_loss_backward, _log_softmax_backward_data,
  tanh_backward, ... however it is reached: torch.ops.aten, torch._C._nn, torch._C._VariableFunctions,
  or a backward node run by autograd's engine) gets a kernel at the dispatcher, for every dispatch
  key a CPU tensor can reach it by, that raises IntegrityError;
- autograd's engine (`torch._C._EngineBase.run_backward`, whatever instance or thread calls it) is
  replaced in the C type itself by a refusal.

The registrations are made through a dispatcher library object that is then leaked on purpose: no
Python object refers to it, so a student's code cannot find it and undo them (torch.library's own
Library would let `_destroy()` do that). The forward pass never calls a backward kernel, so it is not
slowed down (benchmarks/bench_session.py). The worker computes no gradient, so it loses nothing.
"""
from __future__ import annotations

import ctypes
import gc
import warnings

import torch

from grader.sandbox.guards import IntegrityError, message

# every key a CPU tensor's call can land on: autograd's (first), the backends, and the composite aliases
KEYS = ("Autograd", "CompositeImplicitAutograd", "CompositeExplicitAutograd", "CompositeExplicitAutogradNonFunctional",
        "CPU", "SparseCPU", "SparseCsrCPU", "QuantizedCPU", "NestedTensorCPU", "MkldnnCPU")
_sealed: list = []  # the names sealed, once per process


def backward_operators() -> list[str]:
    """Every aten operator overload whose name contains 'backward' (about 260 in torch 2.13)."""
    return sorted(name.split("::", 1)[1] for name in torch._C._dispatch_get_all_op_names()
                  if name.startswith("aten::") and "backward" in name.split("::", 1)[1])


def _refusal(op: str):
    def refuse(*args, **kwargs):
        raise IntegrityError(message(f"PyTorch's backward kernel aten::{op}"))
    return refuse


def _engine_refusal(self, *args, **kwargs):
    raise IntegrityError(message("autograd's engine (run_backward)"))


def seal() -> list[str]:
    """Make every backward kernel and autograd's engine refuse, in this process, for good. Idempotent.

    Never call it in a process that needs autograd (the parent): it cannot be undone.
    """
    if _sealed:
        return _sealed
    library = torch._C._dispatch_library("IMPL", "aten", "", __file__, 0)
    names = backward_operators()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Overriding a previously registered kernel", once per key
        for op in names:
            refuse = _refusal(op)
            for key in KEYS:
                library.impl(op, key, refuse, False)
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(library))  # leaked: nothing can reset it
    del library
    engine = torch._C._ImperativeEngine.__mro__[0]  # torch._C._EngineBase, not exported by that name
    slots = gc.get_referents(engine.__dict__)[0]  # the type's own dict, behind its read-only proxy
    slots["run_backward"] = _engine_refusal
    ctypes.pythonapi.PyType_Modified(ctypes.py_object(engine))
    _sealed.extend(names)
    return _sealed


def sealed() -> bool:
    """Whether seal() ran in this process (and still holds: the engine refuses)."""
    return bool(_sealed) and vars(torch._C._ImperativeEngine).get("run_backward") is _engine_refusal
