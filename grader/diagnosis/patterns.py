"""Tests on the answer itself, for every gradient: a constant factor (a hard-coded size among them), a sum or a
broadcast left out, an error that sits in one place (the targets, one row, one column, repeated characters)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from grader.compare import fmt_shape
from grader.diagnosis.context import Context, distinct, near

SIZES = (32, 31, 64, 27, 30, 10, 200)  # the public variant's sizes, as a student might hard-code them


@dataclass(frozen=True)
class Pattern:
    """A test on the answer: `test(ctx, name, answer, off)` returns (id, sentence) or None; `off` marks the
    elements beyond the tolerance (None when the shapes differ)."""

    id: str
    test: Callable


def _factors(n: int) -> list:
    """(value, id, sentence) of constant factors a one-line mistake makes."""
    out = [(-1.0, "sign", "has the wrong sign everywhere: check the sign of the local derivative"),
           (float(n), "factor:n", f"is n = {n} times too large: a missing 1/n? (the loss is a mean over the batch)"),
           (1.0 / n, "factor:1/n", f"is n = {n} times too small: an extra 1/n? (the mean's 1/n counts once)"),
           (-float(n), "factor:-n", f"is -n = -{n} times the answer: a missing 1/n and a flipped sign"),
           (n / (n - 1), "factor:n/(n-1)", "is off by a factor of n/(n-1): n - 1 where n belongs"),
           ((n - 1) / n, "factor:(n-1)/n", "is off by a factor of (n-1)/n: n where n - 1 belongs (bnvar uses "
                                           "Bessel's correction, 1/(n-1))"),
           (float(n - 1), "factor:n-1", "is n - 1 times too large: a missing 1/(n-1)?"),
           (1.0 / (n - 1), "factor:1/(n-1)", "is n - 1 times too small: an extra 1/(n-1)?"),
           (2.0, "factor:2", "is twice too large: an extra 2, or a term counted twice?"),
           (0.5, "factor:1/2", "is half the answer: a missing 2? (the derivative of x**2 is 2x)")]
    for k in SIZES:
        if k not in (n, n - 1):
            out.append((n / k, f"hardcoded:{k}", f"is off by {n}/{k} on a batch of {n}: a hard-coded {k} where "
                                                 "n belongs (use n, or Xb.shape[0])"))
            out.append((k / n, f"hardcoded:{k}", f"is off by {k}/{n} on a batch of {n}: a hard-coded {k} where "
                                                 "n belongs (use n, or Xb.shape[0])"))
            out.append(((n - 1) / (k - 1), f"hardcoded:{k - 1}", f"is off by {n - 1}/{k - 1} on a batch of {n}: a "
                                                                 f"hard-coded {k - 1} where n - 1 belongs"))
    return out


def factor(ctx: Context, name: str, answer: torch.Tensor, off) -> tuple | None:
    truth, tol = ctx.G[name], ctx.tolerance(name)
    if off is None or not off.any():
        return None
    denom = (truth * truth).sum().item()
    if denom == 0.0:
        return None
    alpha = (answer * truth).sum().item() / denom
    if abs(alpha - 1.0) < 1e-3 or not near(answer, alpha * truth, tol):
        return None
    for value, fid, text in _factors(ctx.n):
        if abs(alpha - value) <= 1e-3 * abs(value):
            return fid, f"d{name} {text}"
    if abs(alpha) < 1e-9:
        return None
    return "factor:other", (f"d{name} is {alpha:.4g} times the right answer everywhere: the formula's shape is right, "
                            "a constant in it is not")


def unreduced(ctx: Context, name: str, answer: torch.Tensor, off) -> tuple | None:
    """The answer has the broadcast shape where the tensor had size 1: the sum over the broadcast dims is missing."""
    truth, tol = ctx.G[name], ctx.tolerance(name)
    if answer.dim() != truth.dim() or answer.shape == truth.shape:
        return None
    dims = [d for d in range(truth.dim()) if truth.shape[d] == 1 and answer.shape[d] > 1]
    if not dims or any(answer.shape[d] != truth.shape[d] for d in range(truth.dim()) if d not in dims):
        return None
    if near(answer.sum(dims, keepdim=True), truth, tol):
        where = " and ".join(f"dim {d}" for d in dims)
        return "missing-sum", (f"d{name} is not summed: {name} {fmt_shape(truth.shape)} was broadcast over {where} in "
                               f"the forward pass, so its gradient sums over {where} (keepdim=True)")
    return None


def unexpanded(ctx: Context, name: str, answer: torch.Tensor, off) -> tuple | None:
    """The answer has a size-1 dim where the tensor has many: the broadcast back to the tensor's shape is missing."""
    truth, tol = ctx.G[name], ctx.tolerance(name)
    if answer.shape == truth.shape or answer.dim() != truth.dim():
        return None
    try:
        full = answer.expand(truth.shape)
    except RuntimeError:
        return None
    if near(full, truth, tol) and distinct(full, torch.zeros_like(truth), tol):
        return "not-broadcast", (f"d{name} has shape {fmt_shape(answer.shape)} but {name} has shape "
                                 f"{fmt_shape(truth.shape)}: every row of {name} gets this gradient, so broadcast it "
                                 f"(torch.ones_like({name}) * ...)")
    return None


def _rows_cols(off: torch.Tensor) -> tuple:
    rows = off.any(1).nonzero().flatten().tolist()
    cols = off.any(0).nonzero().flatten().tolist()
    return rows, cols


def targets(ctx: Context, name: str, answer: torch.Tensor, off) -> tuple | None:
    """Off only at the target entries [range(n), Yb] of an (n, vocab_size) gradient."""
    if off is None or not off.any() or off.shape != ctx.V.logits.shape:
        return None
    mask = torch.zeros_like(off)
    mask[range(ctx.n), ctx.V.Yb] = True
    if bool((off & ~mask).any()):
        return None
    return "targets", (f"d{name} is off only at the target entries [range(n), Yb] (the correct character of each "
                       "row): check what your code does there, the -1 of the one-hot or the 1/n")


def repeated(ctx: Context, name: str, answer: torch.Tensor, off) -> tuple | None:
    """dC off only at characters that appear more than once in Xb (dC[Xb] = ... instead of accumulating)."""
    if name != "C" or off is None or not off.any():
        return None
    counts = torch.bincount(ctx.V.Xb.reshape(-1), minlength=ctx.V.C.shape[0])
    rows, _ = _rows_cols(off)
    if all(counts[r] > 1 for r in rows):
        return "repeated", ("dC is off only at characters that appear more than once in Xb: dC[Xb] = ... keeps one "
                            "example per character; accumulate every occurrence (+= in a loop, or index_add_)")
    return None


def one_place(ctx: Context, name: str, answer: torch.Tensor, off) -> tuple | None:
    """Off in one row only, or one column only."""
    if off is None or off.dim() != 2 or not off.any():
        return None
    rows, cols = _rows_cols(off)
    if len(rows) == 1 and off.shape[0] > 1:
        return "one-row", f"d{name} is off in row {rows[0]} only: something treats that row (example) differently"
    if len(cols) == 1 and off.shape[1] > 1:
        return "one-column", f"d{name} is off in column {cols[0]} only: something treats that column differently"
    return None


PATTERNS = (Pattern("missing-sum", unreduced), Pattern("not-broadcast", unexpanded), Pattern("factor", factor),
            Pattern("targets", targets), Pattern("repeated", repeated), Pattern("one-place", one_place))
