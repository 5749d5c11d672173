"""Tolerance study: does `grader.compare` pass every correct solution and fail every wrong one?

Correct solutions written in several styles (the shipped reference, Python loops, index_add_,
one_hot matmuls, einsum, other formula orders, float64 inside, the ex2/ex3 shortcuts) and wrong
ones (the shipped reference with one line broken: a missing 1/n, n for n-1, a missing transpose,
a flipped sign, a missing branch of a reused variable, a dropped keepdim ...) run on many seeds
and batch sizes; each of their gradients goes through `compare.compare` against autograd.

    python benchmarks/tolerance_study.py               # 100 seeds (batch 32) + 5 seeds of 3 other shapes
    python benchmarks/tolerance_study.py --seeds 20 --by-name

A false failure is a correct gradient that does not pass, a false pass a wrong one that does;
the script exits 1 if there is any. It also counts how many correct gradients the lecture's
`torch.allclose` with its defaults (rtol=1e-5, atol=1e-8) would have rejected.

Not listed as wrong: mistakes below float32 resolution. Leaving out the +1e-5 inside bnvar's
power changes the gradient by a relative ~1e-5/bnvar, a few dozen float32 ulps, which is within
the round-off of other correct orders of evaluation; it fails on some seeds and passes on others.

The variants are our own code, run in this process with `exec` (never student code).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader.sandbox import child
from grader import compare, data, model  # noqa: E402
from grader.exercises import EX1_NAMES, EX4_NAMES  # noqa: E402
from grader.results import PASS  # noqa: E402

SOLUTIONS = ROOT / "solutions"
# shapes besides the public (batch 32, 64 hidden): (batch_size, n_hidden)
OTHER_SHAPES = ((17, 64), (64, 64), (32, 48))


@dataclass(frozen=True)
class Solution:
    """One way of writing an exercise: `passes` must pass compare, `fails` must not."""

    label: str
    exercise: int
    code: str
    passes: tuple = ()
    fails: tuple = ()
    float64: bool = False  # run on float64 copies of the forward pass, cast the answers back

    @property
    def correct(self) -> bool:
        return not self.fails


def mutate(text: str, *edits: tuple) -> str:
    """Apply (old, new) replacements, each of which must match exactly once."""
    for old, new in edits:
        count = text.count(old)
        if count != 1:
            raise ValueError(f"mutation target found {count} times (expected once): {old!r}")
        text = text.replace(old, new)
    return text


def reference(stub: str) -> str:
    return (SOLUTIONS / stub).read_text()


# ---------------------------------------------------------------------------------------------
# exercise 1: correct styles (all 26 gradients must pass)

EX1_LOOPS = """
dlogprobs = torch.zeros_like(logprobs)
for i in range(n):
    dlogprobs[i, Yb[i]] = -1.0 / n
dprobs = dlogprobs / probs
dcounts_sum_inv = torch.zeros_like(counts_sum)
for j in range(counts.shape[1]):
    dcounts_sum_inv += counts[:, j:j+1] * dprobs[:, j:j+1]
dcounts_sum = -dcounts_sum_inv / (counts_sum * counts_sum)
dcounts = torch.empty_like(counts)
for i in range(n):
    dcounts[i] = counts_sum_inv[i] * dprobs[i] + dcounts_sum[i]
dnorm_logits = counts * dcounts
dlogit_maxes = torch.zeros_like(logit_maxes)
for j in range(logits.shape[1]):
    dlogit_maxes -= dnorm_logits[:, j:j+1]
dlogits = dnorm_logits.clone()
for i in range(n):
    dlogits[i, logits[i].argmax()] += dlogit_maxes[i, 0]
dh = torch.zeros_like(h)
for k in range(W2.shape[1]):
    dh += dlogits[:, k:k+1] * W2[:, k]
dW2 = torch.zeros_like(W2)
db2 = torch.zeros_like(b2)
for i in range(n):
    dW2 += torch.outer(h[i], dlogits[i])
    db2 += dlogits[i]
dhpreact = (1.0 - h**2) * dh
dbngain = torch.zeros_like(bngain)
dbnbias = torch.zeros_like(bnbias)
for i in range(n):
    dbngain += bnraw[i] * dhpreact[i]
    dbnbias += dhpreact[i]
dbnraw = bngain * dhpreact
dbnvar_inv = torch.zeros_like(bnvar_inv)
for i in range(n):
    dbnvar_inv += bndiff[i] * dbnraw[i]
dbnvar = -0.5 * bnvar_inv**3 * dbnvar_inv  # (bnvar + 1e-5)**-1.5 == bnvar_inv**3
dbndiff2 = dbnvar.expand_as(bndiff2) / (n - 1)
dbndiff = torch.empty_like(bndiff)
for i in range(n):
    dbndiff[i] = bnvar_inv[0] * dbnraw[i] + 2 * bndiff[i] * dbndiff2[i]
dbnmeani = torch.zeros_like(bnmeani)
for i in range(n):
    dbnmeani -= dbndiff[i]
dhprebn = torch.empty_like(hprebn)
for i in range(n):
    dhprebn[i] = dbndiff[i] + dbnmeani[0] / n
dembcat = torch.zeros_like(embcat)
for k in range(W1.shape[1]):
    dembcat += dhprebn[:, k:k+1] * W1[:, k]
dW1 = torch.zeros_like(W1)
db1 = torch.zeros_like(b1)
for i in range(n):
    dW1 += torch.outer(embcat[i], dhprebn[i])
    db1 += dhprebn[i]
demb = torch.zeros_like(emb)
for i in range(n):
    demb[i] = dembcat[i].view(emb.shape[1:])
dC = torch.zeros_like(C)
for i in range(n):
    for j in range(Xb.shape[1]):
        dC[Xb[i, j]] += demb[i, j]
"""

EX1_REORDERED = """
dlogprobs = -F.one_hot(Yb, num_classes=logprobs.shape[1]).float() / n
dprobs = dlogprobs / probs
dcounts_sum_inv = (dprobs * counts).sum(1, keepdim=True)
dcounts_sum = -dcounts_sum_inv / counts_sum**2
dcounts = dprobs * counts_sum_inv + dcounts_sum
dnorm_logits = dcounts * norm_logits.exp()
dlogit_maxes = -dnorm_logits.sum(1, keepdim=True)
dlogits = dnorm_logits + (logits == logit_maxes).float() * dlogit_maxes
dh = (W2 @ dlogits.T).T
dW2 = (dlogits.T @ h).T
db2 = torch.ones(n) @ dlogits
dhpreact = dh * (1 - h * h)
dbngain = (dhpreact * bnraw).sum(0, keepdim=True)
dbnbias = dhpreact.sum(0).view(1, -1)
dbnraw = dhpreact * bngain
dbnvar_inv = (dbnraw * bndiff).sum(0, keepdim=True)
dbnvar = dbnvar_inv * -0.5 * (bnvar + 1e-5) ** -1.5
dbndiff2 = torch.full_like(bndiff2, 1.0 / (n - 1)) * dbnvar
dbndiff = dbnraw * bnvar_inv + 2 * bndiff * dbndiff2
dbnmeani = -dbndiff.sum(0, keepdim=True)
dhprebn = dbndiff + dbnmeani / n
dembcat = (W1 @ dhprebn.T).T
dW1 = (dhprebn.T @ embcat).T
db1 = dhprebn.sum(0, keepdim=True).squeeze(0)
demb = dembcat.view(n, *emb.shape[1:])
dC = torch.zeros_like(C).index_add_(0, Xb.flatten(), demb.flatten(0, 1))
"""

EX1_EINSUM = """
dlogprobs = torch.zeros_like(logprobs).scatter_(1, Yb.view(-1, 1), -1.0 / n)
dprobs = dlogprobs * probs**-1
dcounts_sum_inv = torch.einsum('ij,ij->i', counts, dprobs).view(-1, 1)
dcounts_sum = -(counts_sum_inv**2) * dcounts_sum_inv
dcounts = counts_sum_inv * dprobs
dcounts = dcounts + dcounts_sum.expand_as(counts)
dnorm_logits = torch.mul(dcounts, counts)
dlogit_maxes = -torch.einsum('ij->i', dnorm_logits).unsqueeze(1)
dlogits = dnorm_logits + F.one_hot(logits.argmax(1), logits.shape[1]) * dlogit_maxes
dh = torch.einsum('ik,jk->ij', dlogits, W2)
dW2 = torch.einsum('ni,nk->ik', h, dlogits)
db2 = torch.einsum('nk->k', dlogits)
dhpreact = dh - h**2 * dh
dbngain = torch.einsum('nj,nj->j', bnraw, dhpreact).unsqueeze(0)
dbnbias = torch.einsum('nj->j', dhpreact)[None, :]
dbnraw = bngain.expand_as(dhpreact) * dhpreact
dbnvar_inv = torch.einsum('nj,nj->j', bndiff, dbnraw)[None]
dbnvar = -0.5 * (bnvar + 1e-5) ** -1.5 * dbnvar_inv
dbndiff2 = dbnvar.repeat(n, 1) / (n - 1)
dbndiff = bnvar_inv * dbnraw
dbndiff = dbndiff + 2 * bndiff * dbndiff2
dbnmeani = -torch.einsum('nj->j', dbndiff)[None]
dhprebn = dbndiff + torch.ones_like(hprebn) * dbnmeani * (1.0 / n)
dembcat = torch.einsum('nk,ik->ni', dhprebn, W1)
dW1 = torch.einsum('ni,nk->ik', embcat, dhprebn)
db1 = torch.einsum('nk->k', dhprebn)
demb = dembcat.reshape(emb.shape)
dC = F.one_hot(Xb.view(-1), num_classes=C.shape[0]).float().T @ demb.view(-1, C.shape[1])
"""

# lines of solutions/ex1_backprop_one_by_one.py that the mutants below change
L_DLOGPROBS = "dlogprobs[range(n), Yb] = -1.0 / n"
L_DPROBS = "dprobs = (1.0 / probs) * dlogprobs"
L_DCSI = "dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)"
L_DCS = "dcounts_sum = (-counts_sum**-2) * dcounts_sum_inv"
L_DCOUNTS2 = "dcounts += torch.ones_like(counts) * dcounts_sum\n"
L_DLOGITS = "dlogits = dnorm_logits.clone()\n"
L_DLMAX = "dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)"
L_DLOGITS2 = "dlogits += F.one_hot(logits.max(1).indices, num_classes=logits.shape[1]) * dlogit_maxes\n"
L_DW2 = "dW2 = h.T @ dlogits"
L_DB2 = "db2 = dlogits.sum(0)"
L_DHPREACT = "dhpreact = (1.0 - h**2) * dh"
L_DBNGAIN = "dbngain = (bnraw * dhpreact).sum(0, keepdim=True)"
L_DBNBIAS = "dbnbias = dhpreact.sum(0, keepdim=True)"
L_DBNVARINV = "dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)"
L_DBNVAR = "dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv"
L_DBNDIFF2 = "dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(bndiff2) * dbnvar"
L_DBNDIFF_2 = "dbndiff += (2 * bndiff) * dbndiff2\n"
L_DHPREBN = "dhprebn = dbndiff.clone()\n"
L_DBNMEANI = "dbnmeani = (-dbndiff).sum(0, keepdim=True)"
L_DHPREBN2 = "dhprebn += 1.0 / n * (torch.ones_like(hprebn) * dbnmeani)\n"
L_DEMBCAT = "dembcat = dhprebn @ W1.T"
L_DW1 = "dW1 = embcat.T @ dhprebn"
L_DB1 = "db1 = dhprebn.sum(0)"
L_DEMB = "demb = dembcat.view(emb.shape)"
L_DC = "dC[ix] += demb[k, j]"
L_DC_LOOP = "for k in range(Xb.shape[0]):"

EX2_FORMULA = "dlogits = F.softmax(logits, 1)\ndlogits[range(n), Yb] -= 1\ndlogits /= n\n"
EX3_FORMULA = ("dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0)"
               " - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0))\n")


def ex1_solutions() -> list[Solution]:
    ref = reference("ex1_backprop_one_by_one.py")
    every = EX1_NAMES

    def good(label, code, **kw):
        return Solution(label, 1, code, passes=every, **kw)

    def bad(label, fails, *edits, passes=()):
        return Solution(label, 1, mutate(ref, *edits), passes=passes, fails=fails)

    return [
        good("reference (solutions/ex1)", ref),
        good("reference, computed in float64", ref, float64=True),
        good("python loops for every sum and matmul", EX1_LOOPS),
        good("other formula orders, index_add_ for dC", EX1_REORDERED),
        good("einsum, scatter_, one_hot matmul for dC", EX1_EINSUM),
        good("ex2/ex3 shortcuts for dlogits and dhprebn", mutate(
            ref, (L_DLOGITS, EX2_FORMULA), (L_DLOGITS2, ""), (L_DHPREBN, EX3_FORMULA), (L_DHPREBN2, ""))),
        good("skips the logit_maxes branch, dlogit_maxes = 0 (both ~0)", mutate(
            ref, (L_DLOGITS2, ""), (L_DLMAX, "dlogit_maxes = torch.zeros_like(logit_maxes)"))),
        # wrong: the reference with one line broken
        bad("dlogprobs: missing 1/n", ("logprobs",), (L_DLOGPROBS, "dlogprobs[range(n), Yb] = -1.0")),
        bad("dlogprobs: sign flipped", ("logprobs",), (L_DLOGPROBS, "dlogprobs[range(n), Yb] = 1.0 / n")),
        bad("dprobs: sign flipped", ("probs",), (L_DPROBS, "dprobs = (-1.0 / probs) * dlogprobs")),
        bad("dcounts_sum_inv: dropped keepdim", ("counts_sum_inv",),
            (L_DCSI, "dcounts_sum_inv = (counts * dprobs).sum(1)")),
        bad("dcounts_sum: sign flipped", ("counts_sum",), (L_DCS, "dcounts_sum = (counts_sum**-2) * dcounts_sum_inv")),
        bad("dcounts: missing the counts_sum branch", ("counts", "norm_logits", "logits"), (L_DCOUNTS2, ""),
            passes=("counts_sum_inv", "counts_sum")),
        bad("dlogit_maxes: dropped keepdim", ("logit_maxes",), (L_DLMAX, "dlogit_maxes = (-dnorm_logits).sum(1)")),
        bad("dlogit_maxes: chain rule without counts", ("logit_maxes",),
            (L_DLMAX, "dlogit_maxes = (-dcounts).sum(1, keepdim=True)")),
        bad("dW2: missing transpose", ("W2",), (L_DW2, "dW2 = dlogits.T @ h")),
        bad("dW2: view instead of transpose", ("W2",), (L_DW2, "dW2 = (dlogits.T @ h).view(W2.shape)")),
        bad("dW2: sign flipped", ("W2",), (L_DW2, "dW2 = -h.T @ dlogits")),
        bad("db2: extra keepdim", ("b2",), (L_DB2, "db2 = dlogits.sum(0, keepdim=True)")),
        bad("dhpreact: tanh' from hpreact", ("hpreact",), (L_DHPREACT, "dhpreact = (1.0 - hpreact**2) * dh")),
        bad("dbnvar: sign flipped", ("bnvar", "bndiff2"), (L_DBNVAR, "dbnvar = (0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv")),
        bad("dbndiff2: n instead of n-1", ("bndiff2", "bndiff", "hprebn"),
            (L_DBNDIFF2, "dbndiff2 = (1.0 / n) * torch.ones_like(bndiff2) * dbnvar")),
        # sum(bndiff) = 0, so the missing branch leaves dbnmeani right (up to round-off)
        bad("dbndiff: missing the bndiff2 branch", ("bndiff", "hprebn"), (L_DBNDIFF_2, ""), passes=("bnmeani",)),
        # (64,) for (1, 64): only a size-1 dimension differs and it broadcasts back where the lecture uses it
        # (grader/compare.py's fits): right, with a note; the lecture's answer notebook writes dbnmeani so
        good("dropped keepdim where it broadcasts back (dbngain, dbnbias, dbnvar_inv, dbnmeani)", mutate(
            ref, (L_DBNGAIN, "dbngain = (bnraw * dhpreact).sum(0)"), (L_DBNBIAS, "dbnbias = dhpreact.sum(0)"),
            (L_DBNVARINV, "dbnvar_inv = (bndiff * dbnraw).sum(0)"), (L_DBNMEANI, "dbnmeani = (-dbndiff).sum(0)"))),
        bad("dhprebn: missing the bnmeani branch", ("hprebn", "b1", "W1", "C"), (L_DHPREBN2, ""),
            passes=("bnmeani",)),
        bad("dhprebn: missing 1/n in the bnmeani branch", ("hprebn", "b1"),
            (L_DHPREBN2, "dhprebn += torch.ones_like(hprebn) * dbnmeani\n")),
        bad("dembcat: missing transpose (raises)", ("embcat",), (L_DEMBCAT, "dembcat = dhprebn @ W1")),
        bad("dW1: missing transpose", ("W1",), (L_DW1, "dW1 = dhprebn.T @ embcat")),
        bad("dW1: view instead of transpose", ("W1",), (L_DW1, "dW1 = (dhprebn.T @ embcat).view(W1.shape)")),
        bad("db1: extra keepdim", ("b1",), (L_DB1, "db1 = dhprebn.sum(0, keepdim=True)")),
        bad("demb: view in the wrong order", ("emb", "C"),
            (L_DEMB, "demb = dembcat.view(n, emb.shape[2], emb.shape[1]).transpose(1, 2)")),
        bad("dC: = instead of += (repeated characters)", ("C",), (L_DC, "dC[ix] = demb[k, j]")),
        bad("dC: loop misses the last example", ("C",), (L_DC_LOOP, "for k in range(Xb.shape[0] - 1):")),
    ]


# ---------------------------------------------------------------------------------------------
# exercise 2: dlogits

def ex2_solutions() -> list[Solution]:
    ref = reference("ex2_cross_entropy.py")
    names = ("logits",)
    good = [
        ("reference (solutions/ex2)", ref, False),
        ("reference, computed in float64", ref, True),
        ("(softmax - one_hot) * (1/n)", "dlogits = (F.softmax(logits, 1) - F.one_hot(Yb, logits.shape[1])) * (1.0 / n)", False),
        ("exp / sum by hand, no max subtracted",
         "e = logits.exp()\ndlogits = e / e.sum(1, keepdim=True)\ndlogits[range(n), Yb] -= 1\ndlogits = dlogits / n", False),
        ("from the forward pass's probs", "dlogits = probs.clone()\ndlogits[range(n), Yb] -= 1.0\ndlogits /= n", False),
        ("log_softmax().exp()", "dlogits = (logits.log_softmax(1).exp() - F.one_hot(Yb, logits.shape[1]).float()) / n", False),
        ("python loop over rows",
         "dlogits = torch.empty_like(logits)\nfor i in range(n):\n    p = F.softmax(logits[i], 0)\n"
         "    p[Yb[i]] -= 1\n    dlogits[i] = p / n", False),
    ]
    bad = [
        ("missing 1/n", ("dlogits /= n", "")),
        ("n-1 instead of n", ("dlogits /= n", "dlogits /= n - 1")),
        ("sign flipped", ("dlogits /= n", "dlogits /= -n")),
        ("forgets the -1", ("dlogits[range(n), Yb] -= 1\n", "")),
        ("-1 in every row of the Yb columns", ("dlogits[range(n), Yb] -= 1", "dlogits[:, Yb] -= 1")),
    ]
    return ([Solution(label, 2, code, passes=names, float64=f64) for label, code, f64 in good]
            + [Solution(label, 2, mutate(ref, edit), fails=names) for label, edit in bad])


# ---------------------------------------------------------------------------------------------
# exercise 3: dhprebn given dhpreact

EX3_CHAIN = """
dbnraw = bngain * dhpreact
dbndiff = bnvar_inv * dbnraw
dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
dbnvar = (-0.5 * (bnvar + 1e-5) ** -1.5) * dbnvar_inv
dbndiff += (2 * bndiff) * (1.0 / (n - 1)) * dbnvar
dhprebn = dbndiff - dbndiff.sum(0, keepdim=True) / n
"""

EX3_RECOMPUTED = """
mu = hprebn.mean(0, keepdim=True)
var = hprebn.var(0, keepdim=True)  # unbiased, like the forward pass
inv = (var + 1e-5).rsqrt()
xhat = (hprebn - mu) * inv
dhprebn = bngain * inv * (dhpreact - dhpreact.mean(0, keepdim=True) - xhat * (dhpreact * xhat).sum(0, keepdim=True) / (n - 1))
"""

EX3_LOOP = """
dhprebn = torch.empty_like(hprebn)
for j in range(hprebn.shape[1]):
    g, x = dhpreact[:, j], bnraw[:, j]
    dhprebn[:, j] = bngain[0, j] * bnvar_inv[0, j] * (g - g.sum() / n - x * (g * x).sum() / (n - 1))
"""


def ex3_solutions() -> list[Solution]:
    ref = reference("ex3_batchnorm.py")
    names = ("hprebn",)
    line = EX3_FORMULA.strip()
    good = [
        ("reference (solutions/ex3)", ref, False),
        ("reference, computed in float64", ref, True),
        ("mean form: g - mean(g) - x sum(g x)/(n-1)",
         "dhprebn = bngain * bnvar_inv * (dhpreact - dhpreact.mean(0, keepdim=True)"
         " - bnraw * (dhpreact * bnraw).sum(0, keepdim=True) / (n - 1))", False),
        ("one by one through the batchnorm intermediates", EX3_CHAIN, False),
        ("recomputes mean, var, xhat from hprebn", EX3_RECOMPUTED, False),
        ("python loop over columns", EX3_LOOP, False),
    ]
    bad = [
        ("missing 1/n", (" / n * (", " * (")),
        ("n instead of n-1", ("n / (n - 1) * bnraw", "bnraw")),
        ("missing the bnmeani branch", (" - dhpreact.sum(0)", "")),
        ("missing the bnvar branch", (" - n / (n - 1) * bnraw * (dhpreact * bnraw).sum(0)", "")),
        ("sign flipped", ("dhprebn = bngain", "dhprebn = -bngain")),
        ("sum over the wrong dim", ("(dhpreact * bnraw).sum(0)", "(dhpreact * bnraw).sum(1, keepdim=True)")),
        ("missing bngain", ("bngain * bnvar_inv", "bnvar_inv")),
    ]
    assert line in ref, "solutions/ex3 changed: update EX3_FORMULA"
    return ([Solution(label, 3, code, passes=names, float64=f64) for label, code, f64 in good]
            + [Solution(label, 3, mutate(ref, edit), fails=names) for label, edit in bad])


# ---------------------------------------------------------------------------------------------
# exercise 4: the seven parameter gradients from the condensed backward pass of the training loop

EX4_STEPS = {
    "dlogits": EX2_FORMULA,
    "dh": "dh = dlogits @ W2.T\n",
    "dW2": "dW2 = h.T @ dlogits\n",
    "db2": "db2 = dlogits.sum(0)\n",
    "dhpreact": "dhpreact = (1.0 - h**2) * dh\n",
    "dbngain": "dbngain = (bnraw * dhpreact).sum(0, keepdim=True)\n",
    "dbnbias": "dbnbias = dhpreact.sum(0, keepdim=True)\n",
    "dhprebn": EX3_FORMULA,
    "dembcat": "dembcat = dhprebn @ W1.T\n",
    "dW1": "dW1 = embcat.T @ dhprebn\n",
    "db1": "db1 = dhprebn.sum(0)\n",
    "demb": "demb = dembcat.view(emb.shape)\n",
    "dC": ("dC = torch.zeros_like(C)\nfor k in range(Xb.shape[0]):\n    for j in range(Xb.shape[1]):\n"
           "        ix = Xb[k, j]\n        dC[ix] += demb[k, j]\n"),
}


def ex4(**steps: str) -> str:
    """The lecture's exercise-4 backward pass with some steps written another way."""
    unknown = set(steps) - set(EX4_STEPS)
    if unknown:
        raise ValueError(f"unknown exercise-4 steps {sorted(unknown)}")
    return "".join((steps.get(k, v).rstrip("\n") + "\n") for k, v in EX4_STEPS.items())


def ex4_solutions() -> list[Solution]:
    names = EX4_NAMES

    def good(label, **steps):
        return Solution(label, 4, ex4(**steps), passes=names)

    def bad(label, fails, passes=(), **steps):
        return Solution(label, 4, ex4(**steps), passes=passes, fails=fails)

    return [
        good("lecture (dC by python loop)"),
        Solution("lecture, computed in float64", 4, ex4(), passes=names, float64=True),
        good("index_add_ dC, (dhprebn.T @ embcat).T, db1 by .T.sum(1)",
             dC="dC = torch.zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))",
             dW1="dW1 = (dhprebn.T @ embcat).T", db1="db1 = dhprebn.T.sum(1)"),
        good("one_hot matmul dC, einsum dW1/dW2/dbngain, ones @ db1/db2",
             dC="dC = F.one_hot(Xb.view(-1), num_classes=C.shape[0]).float().T @ demb.view(-1, C.shape[1])",
             dW1="dW1 = torch.einsum('ni,nk->ik', embcat, dhprebn)", db1="db1 = torch.ones(n) @ dhprebn",
             dW2="dW2 = torch.einsum('ni,nk->ik', h, dlogits)", db2="db2 = torch.ones(1, n) @ dlogits\ndb2 = db2[0]",
             dbngain="dbngain = torch.einsum('nj,nj->j', bnraw, dhpreact)[None]"),
        good("python loops over examples (outer products)",
             dW1="dW1 = torch.zeros_like(W1)\ndb1 = torch.zeros_like(b1)\nfor i in range(n):\n"
                 "    dW1 += torch.outer(embcat[i], dhprebn[i])\n    db1 += dhprebn[i]",
             db1="",
             dW2="dW2 = torch.zeros_like(W2)\nfor i in range(n):\n    dW2 += torch.outer(h[i], dlogits[i])",
             db2="db2 = torch.zeros_like(b2)\nfor i in range(n):\n    db2 += dlogits[i]",
             dbngain="dbngain = torch.zeros_like(bngain)\ndbnbias = torch.zeros_like(bnbias)\nfor i in range(n):\n"
                     "    dbngain += bnraw[i] * dhpreact[i]\n    dbnbias += dhpreact[i]",
             dbnbias=""),
        good("index_put_(accumulate) dC, dW1 from emb, mean-form batchnorm",
             dC="dC = torch.zeros_like(C).index_put_((Xb.view(-1),), demb.view(-1, C.shape[1]), accumulate=True)",
             dW1="dW1 = emb.view(n, -1).T @ dhprebn",
             dhprebn="dhprebn = bngain * bnvar_inv * (dhpreact - dhpreact.mean(0, keepdim=True)"
                     " - bnraw * (dhpreact * bnraw).mean(0, keepdim=True) * n / (n - 1))"),
        good("scatter_add_ dC, db1 by keepdim then [0], softmax from probs",
             dC="dC = torch.zeros_like(C).scatter_add_(0, Xb.view(-1, 1).expand(-1, C.shape[1]), demb.view(-1, C.shape[1]))",
             db1="db1 = dhprebn.sum(0, keepdim=True)[0]",
             dlogits="dlogits = probs.clone()\ndlogits[range(n), Yb] -= 1\ndlogits /= n"),
        # wrong
        bad("dC[Xb] += demb (repeated characters lost)", ("C",), dC="dC = torch.zeros_like(C)\ndC[Xb] += demb"),
        bad("dC: index_add_ of dembcat rows by Xb[:, 0]", ("C",),
            dC="dC = torch.zeros_like(C).index_add_(0, Xb[:, 0], dembcat[:, :C.shape[1]])"),
        bad("dW1: missing transpose", ("W1",), dW1="dW1 = dhprebn.T @ embcat"),
        bad("dW1: view instead of transpose", ("W1",), dW1="dW1 = (dhprebn.T @ embcat).view(W1.shape)"),
        bad("db1: extra keepdim", ("b1",), db1="db1 = dhprebn.sum(0, keepdim=True)"),
        bad("db1: from dhpreact (skips batchnorm)", ("b1",), db1="db1 = dhpreact.sum(0)"),
        good("dropped keepdim where it broadcasts back (dbngain, dbnbias): p.data += -lr * grad keeps p's shape",
             dbngain="dbngain = (bnraw * dhpreact).sum(0)", dbnbias="dbnbias = dhpreact.sum(0)"),
        bad("dW2: sign flipped", ("W2",), dW2="dW2 = -(h.T @ dlogits)"),
        # db1 is ~0 whatever factor multiplies dlogits: it is not listed
        bad("dlogits: missing 1/n", ("C", "W1", "W2", "b2", "bngain", "bnbias"),
            dlogits="dlogits = F.softmax(logits, 1)\ndlogits[range(n), Yb] -= 1"),
        bad("dhprebn: missing the bnmeani branch", ("C", "W1", "b1"), passes=("W2", "b2", "bngain", "bnbias"),
            dhprebn=EX3_FORMULA.replace(" - dhpreact.sum(0)", "")),
        bad("dhprebn: n instead of n-1", ("C", "W1"), passes=("W2", "b2", "bngain", "bnbias"),
            dhprebn=EX3_FORMULA.replace("n / (n - 1) * bnraw", "bnraw")),
    ]


def all_solutions() -> list[Solution]:
    return ex1_solutions() + ex2_solutions() + ex3_solutions() + ex4_solutions()


# ---------------------------------------------------------------------------------------------
# running them

@dataclass
class Row:
    """One solution's tally over every configuration it ran on."""

    solution: Solution
    runs: int = 0
    raised: int = 0
    passed: int = 0  # checks of `passes` that passed
    failed: int = 0  # checks of `fails` that failed
    false_failures: int = 0
    false_passes: int = 0
    allclose_failures: int = 0  # checks of `passes` that torch.allclose with its defaults rejects
    allclose_passes: int = 0  # checks of `fails` that the lecture's cmp (allclose, broadcasting) accepts
    worst: float = 0.0  # largest error/tolerance among `passes`
    closest: float = math.inf  # smallest error/tolerance among `fails` (inf: shape, missing ...)
    worst_name: str = ""
    closest_name: str = ""
    examples: list = field(default_factory=list)  # (config, name, message) of false verdicts

    @property
    def checks(self) -> int:
        return self.runs * (len(self.solution.passes) + len(self.solution.fails))

    def record(self, where: str, name: str, must_pass: bool, check, ratio: float, lecture_ok: bool) -> None:
        """Tally one verdict of compare; `lecture_ok` is what the lecture's allclose said."""
        passed = check.status == PASS
        if must_pass:
            self.passed += passed
            self.allclose_failures += not lecture_ok
            if ratio > self.worst:
                self.worst, self.worst_name = ratio, name
        else:
            self.failed += not passed
            self.allclose_passes += lecture_ok
            if ratio < self.closest:
                self.closest, self.closest_name = ratio, name
        if passed != must_pass:
            self.false_failures += must_pass
            self.false_passes += not must_pass
            self.examples.append((where, name, check.message))


@dataclass
class Report:
    rows: list
    configs: list
    seconds: float
    by_name: dict  # "ex<k> d<name>" -> [largest error/tolerance, correct checks, allclose rejections]

    def total(self, attr: str) -> int:
        return sum(getattr(r, attr) for r in self.rows)

    @property
    def false_failures(self) -> int:
        return self.total("false_failures")

    @property
    def false_passes(self) -> int:
        return self.total("false_passes")

    @property
    def correct_checks(self) -> int:
        return sum(r.runs * len(r.solution.passes) for r in self.rows)

    @property
    def wrong_checks(self) -> int:
        return sum(r.runs * len(r.solution.fails) for r in self.rows)

    @property
    def max_correct_ratio(self) -> float:
        return max((r.worst for r in self.rows if r.solution.passes), default=0.0)

    @property
    def min_wrong_ratio(self) -> float:
        return min((r.closest for r in self.rows if r.solution.fails), default=math.inf)


def configs(seeds: int, extra_seeds: int = 5, first_seed: int = 0) -> list:
    """`seeds` public-shape configurations, plus `extra_seeds` of every shape in OTHER_SHAPES."""
    out = [model.Variant(name=f"seed {s}", seed=s) for s in range(first_seed, first_seed + seeds)]
    for batch_size, n_hidden in OTHER_SHAPES:
        for s in range(first_seed, first_seed + extra_seeds):
            out.append(model.Variant(name=f"seed {s} n={batch_size} hidden={n_hidden}", seed=s,
                                     batch_size=batch_size, n_hidden=n_hidden))
    return out


def _answer(ns: dict, key: str) -> compare.Answer:
    """What the grader would receive for ns[key] (the sandbox's wire format, minus the bytes)."""
    if key not in ns:
        return compare.Answer("missing")
    value = ns[key]
    if isinstance(value, torch.Tensor):
        return compare.Answer("tensor", value.detach())
    return compare.Answer("none") if value is None else compare.Answer("other", type_name=type(value).__name__)


def _ratio(t: torch.Tensor, ref32: torch.Tensor, ref64: torch.Tensor) -> float:
    """error / tolerance as compare computes them; inf when the values cannot be compared."""
    if t.shape != ref32.shape and compare.fits(tuple(t.shape), tuple(ref32.shape)):
        t = t.reshape(ref32.shape)  # only size-1 dimensions differ: compare judges the values
    if t.shape != ref32.shape or t.dtype != ref32.dtype or not bool(torch.isfinite(t).all()):
        return math.inf
    if t.numel() == 0:
        return 0.0
    error = (t.double() - ref64).abs().max().item()
    tol = compare.tolerance(ref32, ref64)
    return error / tol if tol > 0 else (0.0 if error == 0 else math.inf)


def _lecture_approximate(answer: compare.Answer, ref32: torch.Tensor) -> bool:
    """The lecture's cmp verdict: torch.allclose with its defaults, which broadcasts shapes."""
    if answer.kind != "tensor":
        return False
    try:
        return bool(torch.allclose(answer.tensor, ref32))
    except RuntimeError:  # shapes that do not broadcast, another dtype
        return False


def run_solution(sol: Solution, base: dict, compiled) -> tuple[dict, bool]:
    """Execute one solution on a copy of the namespace; return it and whether the code raised."""
    ns = dict(base)
    if sol.float64:
        ns = {k: (v.double() if isinstance(v, torch.Tensor) and v.is_floating_point() else v) for k, v in ns.items()}
    try:
        exec(compiled, ns)
        raised = False
    except Exception:  # a wrong variant may raise (a missing transpose): its names stay unassigned
        raised = True
    if sol.float64:
        ns = {k: (v.float() if isinstance(v, torch.Tensor) and v.dtype == torch.float64 else v) for k, v in ns.items()}
    return ns, raised


def study(ds, variants, solutions=None) -> Report:
    """Run every solution on every variant of the forward pass and tally compare's verdicts."""
    solutions = solutions if solutions is not None else all_solutions()
    compiled = [compile(s.code, f"<{s.label}>", "exec") for s in solutions]
    rows = [Row(s) for s in solutions]
    by_name: dict = {}
    start = time.perf_counter()
    with model.single_thread():  # as in the sandbox, where student code runs on one thread
        for variant in variants:
            s, values = model.forward_values(ds, variant)
            ref32 = model.autograd_gradients(s)
            ref64 = model.autograd_gradients(s, torch.float64)
            base = child.lecture_namespace(ds, s, values)
            base3 = dict(base, dhpreact=model.manual_dhpreact(s, values))
            given = {k: v.clone() for k, v in base3.items() if isinstance(v, torch.Tensor)}
            for sol, code, row in zip(solutions, compiled, rows):
                ns, raised = run_solution(sol, base3 if sol.exercise == 3 else base, code)
                row.runs += 1
                row.raised += raised
                for name, must_pass in [(x, True) for x in sol.passes] + [(x, False) for x in sol.fails]:
                    answer = _answer(ns, "d" + name)
                    check = compare.compare(name, answer, ref32[name], ref64[name], variant.batch_size)
                    ratio = _ratio(answer.tensor, ref32[name], ref64[name]) if answer.kind == "tensor" else math.inf
                    lecture_ok = _lecture_approximate(answer, ref32[name])
                    row.record(variant.name, name, must_pass, check, ratio, lecture_ok)
                    if must_pass:
                        stats = by_name.setdefault(f"ex{sol.exercise} d{name}", [0.0, 0, 0])
                        stats[:] = [max(stats[0], ratio), stats[1] + 1, stats[2] + (not lecture_ok)]
            changed = [k for k, v in given.items() if not torch.equal(base3[k], v)]
            if changed:  # a solution wrote into the forward pass: every later verdict would be void
                raise RuntimeError(f"a solution modified {changed} in place on {variant.name}")
    return Report(rows, list(variants), time.perf_counter() - start, by_name)


# ---------------------------------------------------------------------------------------------
# printing

def _fmt_ratio(x: float) -> str:
    return "shape/missing" if math.isinf(x) else f"{x:.3g}"


def format_report(report: Report, by_name: bool = False) -> str:
    lines = []
    public = sum(1 for v in report.configs if v.batch_size == 32 and v.n_hidden == 64)
    lines.append(f"{len(report.configs)} forward passes ({public} seeds at batch 32 / 64 hidden, "
                 f"{len(report.configs) - public} at other shapes {', '.join(f'{b}/{h}' for b, h in OTHER_SHAPES)}); "
                 f"tolerance = {compare.TOLERANCE_FACTOR:g} x max(autograd float32 error, eps32 x max|g64|)")
    head = (f"{'ex':>2}  {'solution':<58} {'runs':>5} {'checks':>6} {'pass':>6} {'fail':>6} {'FALSE':>5} "
            f"{'raised':>6} {'err/tol':>13} {'allclose x':>10}")
    for kind, rows in (("correct", [r for r in report.rows if r.solution.correct]),
                       ("wrong", [r for r in report.rows if not r.solution.correct])):
        lines += ["", f"{kind} solutions" + (" (err/tol: largest over their checks; allclose x: checks the "
                                             "lecture's allclose with defaults rejects)" if kind == "correct" else
                                             " (pass/fail include the gradients that must still pass; err/tol: "
                                             "smallest over the checks that must fail; allclose ok: of those, "
                                             "the lecture's cmp accepts)"),
                  head if kind == "correct" else head.replace("allclose x", "allclose ok")]
        for r in rows:
            passes = r.passed + (r.runs * len(r.solution.fails) - r.failed)
            fails = r.checks - passes
            ratio = r.worst if kind == "correct" else r.closest
            which = r.worst_name if kind == "correct" else r.closest_name
            false = r.false_failures + r.false_passes
            lines.append(f"{r.solution.exercise:>2}  {r.solution.label[:58]:<58} {r.runs:>5} {r.checks:>6} {passes:>6} "
                         f"{fails:>6} {false:>5} {r.raised:>6} {_fmt_ratio(ratio):>13} {r.allclose_failures if kind == 'correct' else r.allclose_passes:>10}"
                         + (f"  d{which}" if which and not math.isinf(ratio) else ""))
            for cfg, name, message in r.examples[:3]:
                lines.append(f"      !! {cfg}: d{name}: {message}")
    if by_name:
        lines += ["", "correct checks per gradient: largest error/tolerance, checks allclose alone rejects",
                  f"  {'gradient':<22} {'err/tol':>8} {'allclose x':>16}"]
        for key, (ratio, count, rejected) in sorted(report.by_name.items(), key=lambda kv: -kv[1][0]):
            lines.append(f"  {key:<22} {ratio:>8.3g} {rejected:>6}/{count:<5} {100 * rejected / count:>5.1f}%")
    cc, wc = report.correct_checks, report.wrong_checks
    allclose = report.total("allclose_failures")
    lines += [
        "",
        f"correct checks: {cc}, false failures: {report.false_failures}",
        f"wrong checks:   {wc}, false passes:   {report.false_passes}",
        f"margin: largest error/tolerance of a correct check {report.max_correct_ratio:.3g} (must be <= 1); "
        f"smallest of a wrong check {_fmt_ratio(report.min_wrong_ratio)} (must be > 1)",
        f"torch.allclose with its defaults alone would fail {allclose} of {cc} correct checks "
        f"({100 * allclose / max(cc, 1):.2f}%), and pass {report.total('allclose_passes')} of {wc} wrong ones",
        f"{report.seconds:.1f} s",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=100, help="seeds at the public shape (default 100)")
    parser.add_argument("--extra-seeds", type=int, default=5, help="seeds for each other shape (default 5)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--names", help="path to names.txt (default: $BACKPROP_NINJA_NAMES or the cache)")
    parser.add_argument("--by-name", action="store_true", help="also list the largest ratio per gradient")
    args = parser.parse_args(argv)
    ds = data.load(args.names)
    report = study(ds, configs(args.seeds, args.extra_seeds, args.first_seed))
    print(format_report(report, by_name=args.by_name))
    return 1 if report.false_failures or report.false_passes else 0


if __name__ == "__main__":
    sys.exit(main())
