"""Any answer a student can send (any shape, dtype or value) goes through the diagnosis without an exception."""
from __future__ import annotations

import torch

from grader import model
from grader.compare import Answer
from grader.diagnosis import annotate, explain
from grader.diagnosis.cause import context
from grader.diagnosis.errormap import error_map
from grader.results import CheckResult


def shapes_for(truth: torch.Tensor) -> list:
    n = truth.shape[0] if truth.dim() else 1
    out = [tuple(truth.shape), tuple(reversed(truth.shape)), (n, 1), (1, n), (27,), (32, 27), (64,), (1, 64), (),
           (32, 3, 10), (27, 10), (2, 2, 2, 2), (0,), (32, 64), (64, 27), (30, 64)]
    return list(dict.fromkeys(out))


def test_every_shape_and_kind_of_answer(dataset):
    s, _ = model.forward_values(dataset)
    g32, g64 = model.autograd_gradients(s), model.autograd_gradients(s, torch.float64)
    ctx = context(s, g32, g64)
    g = torch.Generator().manual_seed(0)
    tried = 0
    for name, truth in g32.items():
        for shape in shapes_for(truth):
            for answer in (torch.randn(shape, generator=g), torch.ones(shape, dtype=torch.int64),
                           torch.full(shape, float("inf"))):
                explain(name, answer, s, g32, g64)  # must not raise
                Yb = ctx.V.Yb if truth.shape == ctx.V.logits.shape else None
                error_map(answer, g64[name], ctx.tolerance(name), name, ctx.V.Yb, dataset.itos)  # even a wrong Yb
                error_map(answer, g64[name], ctx.tolerance(name), name, Yb, dataset.itos)
                check = CheckResult(name, "fail")
                annotate(check, 1, Answer("tensor", answer), s, g32, g64, failed=())
                tried += 1
    assert tried > 1000
