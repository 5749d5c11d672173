"""Exercise 4 graded with error carried forward: a wrong intermediate of the block costs the training row only.

A parameter's gradient that came out wrong only because the block's `dlogits` (or another intermediate) was wrong
is judged on its own statements given right inputs: the block runs once more at step 0, in a child of its own,
after every as-written run (grader/training/follow.py), and passes when its own statements are right. The
intermediate's mistake is told, once, on the training row, which it costs.
"""
from __future__ import annotations

import dataclasses

import torch

from grader import compare
from grader.exercises import EX4_NAMES as NAMES
from grader.results import ERROR, FAIL, INHERITED, MISSING, OWN, PASS, CheckResult
from grader.sandbox import wire
from grader.training import loop as training
from grader.training.run import Plan, autograd_gradients, replay
from grader.verdicts import describe_variant, raised_from


def carried(grader, code, plan: Plan, variant, per_step: list, merged: list) -> list[CheckResult]:
    """`merged` (merge_checkpoints(per_step)), each gradient that failed only by inheriting a wrong intermediate (at every
    checkpoint where it failed) judged on its own statements: the block once more at step 0, given right inputs
    (grader/training/follow.py)."""
    failing = {c.name: [ck for _, checks in per_step for ck in checks if ck.name == c.name and ck.status != PASS]
               for c in merged if c.status == FAIL}
    names = [name for name, bad in failing.items() if bad and all(ck.status == FAIL and ck.upstream for ck in bad)]
    if not names:
        return merged
    out = grader.sandbox.run(4, code.code, variant, plan.hidden().limits(grader.options.limits), {"mode": "follow_through"})
    answers = wire.answers(out.tensors, out.meta, NAMES)
    raised = raised_from(out.meta, NAMES)
    params, _ = training.init(grader.ds, variant)
    ix = replay(grader.ds, variant, 1)[0][0]
    Xb, Yb = grader.ds.Xtr[ix], grader.ds.Ytr[ix]
    ref32, ref64 = (autograd_gradients(params, Xb, Yb, dtype) for dtype in (torch.float32, torch.float64))
    from grader.training.causes import Explainer  # the diagnosis catalogue: only for a gradient wrong on its own

    explainer = None
    for name in names:
        k, up = NAMES.index(name), merged[NAMES.index(name)].upstream[0]
        ft = compare.compare(name, answers[name], ref32[name], ref64[name], variant.batch_size, grader.options.tolerance)
        if name in raised:
            line, kind = raised[name]
            merged[k] = dataclasses.replace(merged[k], status=ERROR, cause=OWN, upstream=[], location=code.locate(line),
                                            message=f"given right inputs, {code.locate(line)} raised {kind}")
        elif ft.status == PASS:
            merged[k] = dataclasses.replace(
                merged[k], status=PASS, cause=INHERITED, hints=[], diagnosis="", error_map=[], error_map_alt="",
                message=f"right given right inputs; in your training it comes out wrong because your `d{up}` inside "
                        f"the block is wrong: fix that first")
        elif ft.status != MISSING:  # wrong even from right inputs: its own statements, told as such
            ft.cause, ft.message = OWN, f"given right inputs at step 0: {ft.message}"
            explainer = explainer or Explainer(grader.ds, variant, grader.options.hints)
            explainer.explain(0, params, ix, ft, answers[name])
            merged[k] = ft
    return merged


def block_check(check: CheckResult, runs: list, inters: list, private: bool = False) -> None:
    """With follow-through, a wrong intermediate of the block costs the training row, and only it (the parameters'
    rows are judged given right inputs): the row fails too when, as written, one made a parameter's gradient wrong
    on a hidden variant, or at a checkpoint while the training still came out right. (An intermediate that differs
    from autograd's while every parameter's gradient is right is the student's own name for something else.)"""
    if check.status != PASS:
        return
    for (variant, _, per_step), (_, inter) in zip(runs, inters):
        hit = next(((step, c) for step, checks in per_step for c in checks if c.status == FAIL and c.upstream), None)
        if hit is None:
            continue
        step, c = hit
        up = next((x for x in inter.get(step, []) if x.name == c.upstream[0]), None)
        where = "" if variant is runs[0][0] else f" on {describe_variant(variant)} (hidden variant {variant.name})"
        told = "" if (private and where) or up is None else f": {up.message}" + (
            f". Likely cause: {up.diagnosis}" if up.diagnosis else "")
        check.status, check.cause = FAIL, OWN
        check.message = (f"{check.message}; but your `d{c.upstream[0]}` inside the block is wrong at step {step:,}"
                         f"{where}{told}")
        return
