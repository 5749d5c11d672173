"""Fill a failing CheckResult's diagnosis fields: the cause, the hints, where it is off."""
from __future__ import annotations

import torch

from grader.compare import Answer
from grader.diagnosis.cause import context, explain
from grader.diagnosis.context import inherits
from grader.diagnosis.errormap import error_map
from grader.diagnosis.hints import hints_for
from grader.results import PASS, CheckResult


def annotate(check: CheckResult, exercise: int, answer, setup, grads32: dict, grads64: dict, hints: bool = True,
             itos: dict | None = None, failed=()) -> CheckResult:
    """Add the diagnosis, the hints (when `hints`) and the error map to a check that did not pass; returns it.

    `failed`: names of gradients of the same run that did not pass. A diagnosis is about the student's own formula
    given correct inputs, so none is claimed when d<name> was computed from one of them (follow-through grading
    passes correct inputs and no `failed`).
    """
    if check.status == PASS:
        return check
    name = check.name
    if hints:
        check.hints = hints_for(exercise, name)
    tensor = answer.tensor if isinstance(answer, Answer) else answer
    if not isinstance(tensor, torch.Tensor) or name not in grads64:
        return check
    try:
        finding = None if inherits(name, failed) else explain(name, tensor, setup, grads32, grads64)
        ctx = context(setup, grads32, grads64)
        Yb = ctx.V.Yb if ctx.G[name].shape == ctx.V.logits.shape else None  # target columns of an (n, vocab_size) tensor
        grid, alt = error_map(tensor, ctx.G[name], ctx.tolerance(name), name, Yb, itos)
    except (RuntimeError, IndexError, ValueError, TypeError):  # an answer no test foresaw: the verdict stands without a cause
        return check
    check.diagnosis = finding.sentence if finding else ""
    check.error_map, check.error_map_alt = grid, alt
    return check
