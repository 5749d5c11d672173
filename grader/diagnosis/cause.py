"""diagnose(): the one sentence that names the cause of a wrong gradient, or None.

The order of the search: the catalogue of known one-line mistakes (catalogue.py), then generic wrong forms
(generic.py: shapes, branches, local-derivative factors, another gradient's value), then tests on the answer
(patterns.py: constant factors, a missing sum or broadcast, an error in one place). A wrong form is only taken when
it is far from the truth (context.distinct), so no correct answer can match one; explain() also returns None for
an answer within the grader's tolerance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import torch

from grader import model
from grader.compare import Answer
from grader.diagnosis import catalogue, generic
from grader.diagnosis.context import Context, build, distinct, near
from grader.diagnosis.patterns import PATTERNS


@dataclass(frozen=True)
class Finding:
    """A named cause: `id` says which wrong form or test matched (the benchmark checks it), `sentence` is for the student."""

    id: str
    sentence: str


_CACHE: list = []  # [(setup, grads64, Context)]: the last few variants diagnosed


def context(setup: model.Setup, grads32: dict, grads64: dict) -> Context:
    """The diagnosis Context of a variant (cached: grading diagnoses many gradients of one variant)."""
    for s, g, ctx in _CACHE:
        if s is setup and g is grads64:
            return ctx
    ctx = build(setup, grads32, grads64)
    _CACHE.insert(0, (setup, grads64, ctx))
    del _CACHE[4:]
    return ctx


def _tensor(answer) -> torch.Tensor | None:
    if isinstance(answer, Answer):
        answer = answer.tensor if answer.kind == "tensor" else None
    if not isinstance(answer, torch.Tensor) or not answer.is_floating_point():
        return None
    answer = answer.detach().double()
    return answer if bool(torch.isfinite(answer).all()) else None


def _forms(ctx: Context, name: str) -> Iterator[tuple]:
    """(id, value, sentence) of every wrong form of d<name>, most specific first."""
    for w in catalogue.for_gradient(name):
        try:
            value = w.form(ctx.V, ctx.G)
        except (RuntimeError, IndexError, ValueError):  # a form that does not exist at this variant's sizes
            continue
        yield w.id, value, w.sentence
    for c in generic.candidates(ctx, name):
        yield c.id, c.value, c.sentence


def matches(ctx: Context, name: str, answer: torch.Tensor, first: bool = True) -> list[Finding]:
    """Every wrong form or test that `answer` (float64) matches, without looking at whether it passes.

    A correct answer matches nothing by construction (context.distinct); the benchmark checks that on many seeds.
    """
    if name not in ctx.G:
        return []
    truth, tol = ctx.G[name], ctx.tolerance(name)
    found = []
    for fid, value, sentence in _forms(ctx, name):
        if value.shape == answer.shape and near(answer, value, tol) and distinct(value, truth, tol):
            found.append(Finding(fid, sentence))
            if first:
                return found
    off = (answer - truth).abs() > tol if answer.shape == truth.shape else None
    for pattern in PATTERNS:
        hit = pattern.test(ctx, name, answer, off)
        if hit:
            found.append(Finding(*hit))
            if first:
                return found
    return found


def explain(name: str, answer, setup: model.Setup, grads32: dict, grads64: dict, variant=None) -> Finding | None:
    """The cause of a wrong d<name>, or None (a correct answer, or no known cause).

    `answer`: the student's tensor (or a compare.Answer), computed from correct inputs; `setup`: the variant's
    model.Setup (parameters and minibatch); grads32/grads64: autograd's gradients of every intermediate at that
    setup. `variant` is accepted for symmetry with compare and unused: the setup carries its sizes.
    """
    t = _tensor(answer)
    if t is None or name not in grads64:
        return None
    ctx = context(setup, grads32, grads64)
    truth = ctx.G[name]
    if t.shape == truth.shape and (t - truth).abs().max().item() <= ctx.tolerance(name):
        return None  # correct: never a cause
    found = matches(ctx, name, t)
    return found[0] if found else None


def diagnose(name: str, answer, setup: model.Setup, grads32: dict, grads64: dict, variant=None) -> str | None:
    """One sentence naming the cause of a wrong d<name>, or None; see explain()."""
    finding = explain(name, answer, setup, grads32, grads64, variant)
    return finding.sentence if finding else None
