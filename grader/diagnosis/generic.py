"""Generic wrong forms, for every gradient, that need no catalogue entry.

Each generator yields Candidates computed from the truth and the forward pass: one branch of a variable used
twice, a missing or extra local-derivative factor, a transpose, a sum over the wrong dimension or none, the
value of another gradient. Tests on the answer itself (a constant factor, an error in one place) are in patterns.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import torch

from grader.compare import broadcast, fmt_shape, fits
from grader.diagnosis.context import USES, Context


@dataclass(frozen=True)
class Candidate:
    """A wrong value of d<name> and the sentence that names it."""

    id: str
    value: torch.Tensor
    sentence: str


@dataclass(frozen=True)
class Local:
    """A forward tensor or local derivative that a gradient may miss or have once too often."""

    label: str
    value: Callable  # V -> tensor
    why: str


LOCALS = (
    Local("1 - h**2", lambda V: 1.0 - V.h**2, "the derivative of tanh"),
    Local("h", lambda V: V.h, "tanh's output"),
    Local("bngain", lambda V: V.bngain, "batchnorm's gain"),
    Local("bnvar_inv", lambda V: V.bnvar_inv, "batchnorm's 1/sqrt(bnvar + 1e-5)"),
    Local("bnraw", lambda V: V.bnraw, "the normalised activations"),
    Local("bndiff", lambda V: V.bndiff, "hprebn minus its mean"),
    Local("2 * bndiff", lambda V: 2 * V.bndiff, "the derivative of bndiff**2"),
    Local("counts", lambda V: V.counts, "the derivative of exp, exp itself"),
    Local("probs", lambda V: V.probs, "the softmax output"),
    Local("counts_sum_inv", lambda V: V.counts_sum_inv, "1/counts_sum"),
    Local("counts_sum", lambda V: V.counts_sum, "the row sums of counts"),
    Local("counts_sum**2", lambda V: V.counts_sum**2, "from the derivative of counts_sum**-1"),
    Local("hpreact", lambda V: V.hpreact, "tanh's input"),
    Local("bnvar + 1e-5", lambda V: V.bnvar + 1e-5, "from the derivative of (bnvar + 1e-5)**-0.5"),
)

# gradients that are a sum over one dimension of a broadcast product: name -> (the unsummed tensor, the dim)
SUMMED = {
    "counts_sum_inv": (lambda V, G: V.counts * G.probs, 1),
    "logit_maxes": (lambda V, G: -G.norm_logits, 1),
    "b2": (lambda V, G: G.logits, 0),
    "bngain": (lambda V, G: V.bnraw * G.hpreact, 0),
    "bnbias": (lambda V, G: G.hpreact, 0),
    "bnvar_inv": (lambda V, G: V.bndiff * G.bnraw, 0),
    "bnmeani": (lambda V, G: -G.bndiff, 0),
    "b1": (lambda V, G: G.hprebn, 0),
}
AXIS = {0: "the batch (dim 0)", 1: "each row (dim 1)"}


def _shape_of(name: str, ctx: Context) -> str:
    return fmt_shape(ctx.G[name].shape)


def branches(ctx: Context, name: str) -> Iterator[Candidate]:
    """One use's contribution alone, the others left out, or one use counted twice."""
    parts = ctx.branches(name)
    truth = ctx.G[name]
    uses = " and ".join(parts)
    for consumer, value in parts.items():
        others = " and ".join(c for c in parts if c != consumer)
        yield Candidate(f"branch-only:{consumer}", value,
                        f"d{name} has only the branch through {consumer}: {name} is used twice in the forward pass "
                        f"(by {uses}), so add the gradient that flows back through {others} (+=)")
        yield Candidate(f"branch-twice:{consumer}", truth + value,
                        f"d{name} counts the branch through {consumer} twice: did a += run on top of a value that "
                        "already held it?")
    if name in USES:
        yield Candidate("branch-none", torch.zeros_like(truth), f"d{name} is zero: {name} is used by {uses}, "
                        "so its gradient is the sum of what flows back from each")


def ratios(ctx: Context, name: str) -> Iterator[Candidate]:
    """The truth times or divided by a forward tensor or local derivative."""
    truth = ctx.G[name]
    for local in LOCALS:
        L = local.value(ctx.V)
        if broadcast(L.shape, truth.shape) != tuple(truth.shape):
            continue
        yield Candidate(f"extra:{local.label}", truth * L,
                        f"d{name} has an extra factor of {local.label} ({local.why}): it does not belong to this step")
        if bool((L.abs() > 1e-12).all()):
            yield Candidate(f"missing:{local.label}", truth / L,
                            f"d{name} is missing a factor of {local.label} ({local.why}): the chain rule multiplies "
                            "the gradient from above by it")


def shapes(ctx: Context, name: str) -> Iterator[Candidate]:
    """A transpose, a .view where a transpose belongs, keepdim dropped or added, a sum over the wrong dim or none."""
    truth = ctx.G[name]
    shape = _shape_of(name, ctx)
    if truth.dim() == 2 and truth.shape[0] != truth.shape[1]:
        yield Candidate("transposed", truth.T, f"d{name} is transposed: it must have {name}'s shape {shape}; "
                        "swap the matmul's operands and transpose them (e.g. h.T @ dlogits, not dlogits.T @ h)")
        yield Candidate("view-not-transpose", truth.T.reshape(truth.shape),
                        f"d{name} reshapes a transposed result with .view: that keeps the values in the wrong places; "
                        "compute it in the right orientation (swap and transpose the matmul's operands)")
    for squeezed in (truth.squeeze(), truth.unsqueeze(0)):
        if (squeezed.shape != truth.shape and squeezed.numel() == truth.numel()
                and not fits(tuple(squeezed.shape), tuple(truth.shape))):  # a shape that fits counts (compare.fits)
            ones = [d for d, size in enumerate(truth.shape) if size == 1]
            fix = (f"keep the summed dimension: .sum({ones[0] if ones else 0}, keepdim=True)"
                   if squeezed.dim() < truth.dim() else "drop keepdim=True: it is a vector")
            yield Candidate("keepdim", squeezed, f"d{name} has the right values but shape {fmt_shape(squeezed.shape)}; "
                            f"{name} has shape {shape}: {fix}")
    if name in SUMMED:
        unsummed, dim = SUMMED[name]
        U = unsummed(ctx.V, ctx.G)
        yield Candidate("missing-sum", U, f"d{name} is not summed: {name} {shape} was broadcast over {AXIS[dim]} "
                        f"in the forward pass, so its gradient sums over that dimension: .sum({dim}, keepdim=True)")
        other = 1 - dim
        for keep in (True, False):
            yield Candidate("wrong-dim", U.sum(other, keepdim=keep),
                            f"d{name} sums over dim {other}: {name} {shape} was broadcast over {AXIS[dim]} "
                            f"in the forward pass, so sum over dim {dim}")


def others(ctx: Context, name: str) -> Iterator[Candidate]:
    """The value of another gradient of the same shape, assigned by mistake."""
    truth = ctx.G[name]
    for other, value in ctx.G.items():
        if other != name and value.shape == truth.shape:
            yield Candidate(f"other:{other}", value, f"d{name} holds the value of d{other}: check that the line "
                            f"assigns d{name} from d{other} times the local derivative of the step between them")


GENERATORS = (shapes, branches, ratios, others)


def candidates(ctx: Context, name: str) -> Iterator[Candidate]:
    """Every generic wrong form of d<name>, most specific first."""
    for generator in GENERATORS:
        yield from generator(ctx, name)


def matmul_error(name: str, message: str, line: str = "") -> str | None:
    """A diagnosis for a line that raised instead of giving an answer: a matmul whose shapes do not fit."""
    if "mat1 and mat2 shapes cannot be multiplied" in message or ("size mismatch" in message and "@" in line):
        return (f"d{name}'s matmul does not fit: an operand needs a transpose (.T); write down each operand's shape "
                f"and make the inner sizes meet")
    return None
