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
from grader.sandbox import statements, wire
from grader.submissions import notebook
from grader.training import loop as training
from grader.training.causes import Explainer
from grader.training.run import Plan, autograd_gradients, replay
from grader.verdicts import describe_variant, fix_first as verdicts_fix_first, place, raised_from


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
    explainer = Explainer(grader.ds, variant, grader.options.hints)
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
            explainer.explain(0, params, ix, ft, answers[name])
            merged[k] = ft
    return merged


def blamed(runs: list):
    """(variant, step, intermediate, its check or None) for the first parameter's gradient that, as written,
    inherited a wrong intermediate (public variant first), or None. An intermediate that differs from autograd's while every
    parameter's gradient is right is the student's own name for something else, and blames nothing."""
    for variant, _, per_step, inter in runs:
        for step, checks in per_step:
            c = next((c for c in checks if c.status == FAIL and c.upstream), None)
            if c is not None:
                return variant, step, c.upstream[0], next((x for x in inter.get(step, []) if x.name == c.upstream[0]), None)
    return None


def block_check(check: CheckResult, runs: list, private: bool = False) -> None:
    """With follow-through, a wrong intermediate of the block costs the training row, and only it (the parameters'
    rows are judged given right inputs): the row fails too when, as written, one made a parameter's gradient wrong
    on a hidden variant, or at a checkpoint while the training still came out right."""
    hit = blamed(runs)
    if check.status != PASS or hit is None:
        return
    variant, step, name, up = hit
    where = "" if variant is runs[0][0] else f" on {describe_variant(variant)} (hidden variant {variant.name})"
    told = "" if (private and where) or up is None else f": {up.message}" + (
        f". Likely cause: {up.diagnosis}" if up.diagnosis else "")
    check.status, check.cause = FAIL, OWN
    check.message = f"{check.message}; but your `d{name}` inside the block is wrong at step {step:,}{where}{told}"


def fix_first(checks: list, code, runs: list) -> list[str]:
    """Exercise 4's "fix first" list, as exercises 1-3's: the lines of each gradient wrong on its own, and of the
    intermediate the training row blames, quoted with cell and line."""
    parsed = statements.parse_quietly(code.code, notebook.parse)
    hit = blamed(runs)
    own = [c for c in checks if c.name in NAMES and c.status in (FAIL, ERROR) and not c.upstream]
    own += [CheckResult(hit[2], FAIL)] if hit else []
    rows = []
    for c in own:
        lines = statements.writer_lines(parsed, c.name, code.renamed.get("d" + c.name))
        if lines:
            location, quoted = place(code, lines)
            rows.append(dataclasses.replace(c, cause=OWN, location=location, code=quoted))
    return verdicts_fix_first(rows, code, {})
