"""Run-time guards inside the child: autograd is off limits to a student's code."""
from __future__ import annotations

import torch


class IntegrityError(RuntimeError):
    """The student's code tried to get gradients from autograd."""


_saved: dict = {}


def _blocked(what: str):
    def refuse(*args, **kwargs):
        raise IntegrityError(
            f"{what} is not allowed: the grader compares your hand-written gradients with autograd's, "
            "so your code must not call autograd (delete or comment out that line)"
        )
    return refuse


_TARGETS = {
    (torch.Tensor, "backward"): "loss.backward()",
    (torch.autograd, "backward"): "torch.autograd.backward()",
    (torch.autograd, "grad"): "torch.autograd.grad()",
}


def install() -> None:
    """Disable grad mode and replace autograd's entry points with a clear refusal."""
    torch.set_grad_enabled(False)
    for (owner, attr), what in _TARGETS.items():
        _saved[(owner, attr)] = getattr(owner, attr)
        setattr(owner, attr, _blocked(what))


def uninstall() -> None:
    """Restore what install() replaced (the grader's own code runs after the student's)."""
    for (owner, attr), original in _saved.items():
        setattr(owner, attr, original)
    _saved.clear()
