"""Exercise 4's wrong gradients explained as exercises 1-3's are: a cause, three hints and an error map.

The catalogue (grader/diagnosis) tests wrong forms computed from correct upstream values, so at a checkpoint
it runs on that step's own parameters and batch, and only on a gradient whose inputs were right: the first
wrong intermediate of the block along the backward pass (dlogits, dh, dhpreact, ..., demb), and a parameter's
gradient that no wrong intermediate feeds. The others inherit a mistake and say so (check.inherits).
"""
from __future__ import annotations

import torch

from grader import model
from grader.results import PASS, CheckResult


class Explainer:
    """Annotates each gradient once, at the first checkpoint where it is wrong (the one merge_checkpoints shows)."""

    def __init__(self, ds, variant: model.Variant, hints: bool = True) -> None:
        self.ds, self.variant, self.hints, self.done = ds, variant, hints, set()
        self._step = None  # (step, setup, grads32, grads64): autograd's gradients of every intermediate at that step

    def _gradients(self, step: int, params: dict, ix: torch.Tensor):
        if self._step is None or self._step[0] != step:
            s = model.Setup(self.variant, {k: v.detach().float() for k, v in params.items()}, ix,
                            self.ds.Xtr[ix], self.ds.Ytr[ix], None)
            self._step = (step, s, model.autograd_gradients(s), model.autograd_gradients(s, torch.float64))
        return self._step[1:]

    def explain(self, step: int, params: dict, ix: torch.Tensor, check: CheckResult, answer) -> None:
        """Fill `check`'s diagnosis, hints and error map (its inputs were right at `step`)."""
        if check.status == PASS or check.name in self.done:
            return
        from grader.diagnosis import annotate  # the catalogue is loaded only once a gradient is wrong

        self.done.add(check.name)
        setup, grads32, grads64 = self._gradients(step, params, ix)
        annotate(check, 4, answer, setup, grads32, grads64, self.hints, getattr(self.ds, "itos", None))
