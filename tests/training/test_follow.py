"""Exercise 4's follow-through run (grader/training/follow.py): the correct values it gives the block are autograd's."""
from __future__ import annotations

import torch

from grader import compare, model
from grader.training import follow, loop as training
from grader.training.run import autograd_gradients


def test_the_correct_values_are_autograds_for_every_name_the_block_may_write(dataset):
    for variant in (training.variant_for(model.PUBLIC), training.variant_for(model.Variant(batch_size=17, seed=11))):
        params, g = training.init(dataset, variant)
        ix = training.draw_batch(dataset, g, variant.batch_size)  # step 0's batch, as the loop draws it
        Xb, Yb = dataset.Xtr[ix], dataset.Ytr[ix]
        with torch.no_grad():
            values = training.forward(params, Xb, Yb)
        inter32, inter64 = {}, {}
        ref32 = {**autograd_gradients(params, Xb, Yb, torch.float32, inter32), **inter32}
        ref64 = {**autograd_gradients(params, Xb, Yb, torch.float64, inter64), **inter64}
        given = dict(follow.correct_gradients(params, values, Yb, Xb))
        assert list(given) == list(follow.GRADED)
        for name, value in given.items():
            check = compare.compare(name, compare.Answer("tensor", value), ref32[name], ref64[name], variant.batch_size)
            assert check.status == "pass", (variant, name, check.message)
