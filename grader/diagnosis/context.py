"""What a diagnosis computes from: the forward pass and autograd's gradients in float64, and each use of a variable.

Everything is recomputed here, in the grading process, from the variant's parameters and minibatch; the
student's answer only ever gets compared with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from grader import compare, model


class Values(dict):
    """The forward pass by lecture name (float64), readable as V.h as well as V["h"]."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


# A variable used twice in the forward pass: for each use, the consumer and how it was computed from the variable
# (the others held fixed). autograd gives each use's contribution to the gradient (its vector-Jacobian product).
USES = {
    "counts": (("counts_sum", lambda x, V: x.sum(1, keepdim=True)), ("probs", lambda x, V: x * V.counts_sum_inv)),
    "logits": (("logit_maxes", lambda x, V: x.max(1, keepdim=True).values), ("norm_logits", lambda x, V: x - V.logit_maxes)),
    "bndiff": (("bndiff2", lambda x, V: x**2), ("bnraw", lambda x, V: x * V.bnvar_inv)),
    "hprebn": (("bnmeani", lambda x, V: 1 / V.n * x.sum(0, keepdim=True)), ("bndiff", lambda x, V: x - V.bnmeani)),
}


@dataclass
class Context:
    """One variant's forward pass and autograd's gradients (the truth, given correct inputs), in float64."""

    n: int
    V: Values  # forward tensors, parameters, Xb, Yb, n
    G: Values  # autograd's float64 gradient of every intermediate and parameter
    grads32: dict
    _branches: dict = field(default_factory=dict)

    def tolerance(self, name: str) -> float:
        """compare's tolerance for d<name>: how far a correct float32 answer may be from G[name]."""
        return compare.tolerance(self.grads32[name], self.G[name])

    def branches(self, name: str) -> dict:
        """{consumer: contribution of that use to d<name>} for a variable used twice ({} otherwise)."""
        if name not in USES:
            return {}
        if name not in self._branches:
            out = {}
            for consumer, f in USES[name]:
                x = self.V[name].detach().clone().requires_grad_()
                with torch.enable_grad():
                    # a scalar's grad: grad_outputs given as a tensor would import sympy on the first call (0.6 s)
                    (out[consumer],) = torch.autograd.grad((f(x, self.V) * self.G[consumer]).sum(), x)
            self._branches[name] = out
        return self._branches[name]


def build(setup: model.Setup, grads32: dict, grads64: dict) -> Context:
    """The Context of one variant: its forward pass recomputed in float64 from the setup's parameters and batch."""
    params = {k: v.detach().double() for k, v in setup.params.items()}
    with torch.no_grad():
        values = model.forward(params, setup.Xb, setup.Yb)
    n = int(setup.Xb.shape[0])
    V = Values({**params, **values, "Xb": setup.Xb, "Yb": setup.Yb, "n": n})
    G = Values({k: v.double() for k, v in grads64.items()})
    return Context(n=n, V=V, G=G, grads32=grads32)


RELATIVE = 1e-4  # an answer matches a wrong form within this fraction of the form's largest value (float32 round-off)
DISTINCT = 10.0  # ... and a wrong form counts only if it is this many matching distances away from the truth


def threshold(value: torch.Tensor, tol: float) -> float:
    """How close an answer must be to `value` to be taken for it: the truth's tolerance, or round-off of `value`."""
    scale = value.abs().max().item() if value.numel() else 0.0
    return max(tol, RELATIVE * scale)


def near(answer: torch.Tensor, value: torch.Tensor, tol: float) -> bool:
    """answer (float64) equals `value` up to float32 round-off; False for another shape."""
    if answer.shape != value.shape or not answer.numel():
        return False
    return (answer - value).abs().max().item() <= threshold(value, tol)


def distinct(value: torch.Tensor, truth: torch.Tensor, tol: float) -> bool:
    """A wrong form that a correct answer can never match: another shape, or far from the truth.

    A correct answer is within tol of the truth; one within threshold(value) of `value` would then put value within
    tol + threshold <= 2 * threshold of the truth, which this excludes.
    """
    if value.shape != truth.shape:
        return True
    if not bool(torch.isfinite(value).all()):
        return False
    return (value - truth).abs().max().item() > DISTINCT * threshold(value, tol)


# what reads each tensor in the forward pass: a gradient is only as right as theirs
CONSUMERS = {
    "probs": ("logprobs",), "counts_sum_inv": ("probs",), "counts_sum": ("counts_sum_inv",),
    "counts": ("probs", "counts_sum"), "norm_logits": ("counts",), "logit_maxes": ("norm_logits",),
    "logits": ("norm_logits", "logit_maxes"), "h": ("logits",), "W2": ("logits",), "b2": ("logits",),
    "hpreact": ("h",), "bngain": ("hpreact",), "bnbias": ("hpreact",), "bnraw": ("hpreact",), "bnvar_inv": ("bnraw",),
    "bnvar": ("bnvar_inv",), "bndiff2": ("bnvar",), "bndiff": ("bndiff2", "bnraw"), "bnmeani": ("bndiff",),
    "hprebn": ("bndiff", "bnmeani"), "embcat": ("hprebn",), "W1": ("hprebn",), "b1": ("hprebn",), "emb": ("embcat",),
    "C": ("emb",),
}


def inherits(name: str, failed) -> bool:
    """True when a gradient that d<name> is computed from (a consumer of <name>) is among `failed` names."""
    return any(c in failed for c in CONSUMERS.get(name, ()))
