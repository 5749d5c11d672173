"""Grade exercise 4: the student's backward block trains the lecture's MLP in the sandbox; autograd checks it here.

Gradients: at each checkpoint the child sent (parameters, batch indices, the student's gradients),
autograd's gradients are recomputed in this process and compared with exercises 1-3's rule; a
gradient passes only if it passes at every checkpoint. Training: the same steps are trained with
autograd here, and the losses and final parameters are compared with the student's.
"""
from __future__ import annotations

import ast
import dataclasses

import torch

from grader import compare
from grader.submissions import scan
from grader.training import loop as training
from grader.exercises import EX4_NAMES as NAMES, get as get_exercise
from grader.verdicts import describe_failure, merge_variants
from grader.results import ERROR, FAIL, MISSING, PASS, TRAINING, CheckResult, ExerciseResult
from grader.training.phases import Phases
from grader.training.run import Plan, StudentRun, autograd_gradients, autograd_run, evaluate, reference_ms, replay

# The training check's tolerances (benchmarks/bench_ex4.py --drift): correct blocks in other float
# orders end within 2.4e-7 of autograd's loss and 4e-6 of its parameters after 4,000 and after
# 20,000 steps; the subtlest wrong block of the tolerance study (n for n-1 in dhprebn) is 3.4e-3 off.
LOSS_TOL = 1e-3  # |mean loss over the last tenth of the steps|, yours vs autograd's
PARAM_TOL = 1e-3  # max |p - p_autograd| / max |p_autograd| after the quick run
MIN_TRAINING_STEPS = 1000  # a run stopped early (time limit, Ctrl-C) is judged on its steps if it made this many
SLOW_RATIO, SLOW_MS = 3.0, 0.3  # "much slower": this many times the reference and this many ms more per step
# After 200,000 steps at the public seed, BatchNorm calibrated (benchmarks/bench_ex4.py --full): the
# reference solution and the lecture's loop with loss.backward() both end at train 2.0711, val 2.1119
REFERENCE_FULL = {"train": 2.0711, "val": 2.1119}
LECTURE_FULL = {"train": 2.0705, "val": 2.1099}  # what the lecture reports (its own seed and init)
FULL_TOL = 0.01  # a complete full run must reach the reference's val loss within this


def grade_training(grader, code) -> ExerciseResult:
    """Exercise 4: run the loop on the student's block, check its gradients at checkpoints and its training."""
    ex = get_exercise(4)
    plan = Plan.from_options(grader.options)
    result = ExerciseResult(id=ex.id, title=ex.title, source=code.source, notes=list(code.notes), attempted=code.attempted)
    public, *hidden = grader.options.variants
    variant = training.variant_for(public)
    say = Phases(bool(grader.options.ex4.get("progress")))
    with say.phase("your training" + (" (full run)" if plan.full else ""), plan.steps) as on_progress:
        request = {**plan.request(), "reach": scan.flagged_lines(code.code)}  # which flagged lines ran (sandbox/reach.py)
        outcome = grader.sandbox.run(4, code.code, variant, plan.limits(grader.options.limits), request, on_progress)
    grader.describe_run(result, outcome, code)
    run = StudentRun.decode(outcome, plan)
    result.notes.extend(run.notes)
    result.seconds = outcome.seconds
    failure = describe_failure(outcome, code) or run.stopped_message()
    with say.phase(f"autograd's gradients at your {len(plan.checkpoints)} checkpoints"):
        per_step = checkpoint_checks(grader.ds, variant, run, failure, grader.options.tolerance)
    per_variant = [(public, merge_checkpoints(per_step))]
    if run.reached(training.HIDDEN_STEPS) and run.stop != "user":
        small = plan.hidden()
        for k, other in enumerate(hidden, 1):
            with say.phase(f"hidden variant {k} of {len(hidden)}", small.steps) as on_progress:
                out = grader.sandbox.run(4, code.code, training.variant_for(other), small.limits(grader.options.limits),
                                         small.request(), on_progress)
            hrun, hfail = StudentRun.decode(out, small), describe_failure(out, code)
            hfail = hfail or hrun.stopped_message()
            per_variant.append((other, merge_checkpoints(checkpoint_checks(grader.ds, training.variant_for(other), hrun, hfail,
                                                                                 grader.options.tolerance))))
            result.seconds += out.seconds
    with say.phase("autograd's training, to compare"):
        auto = autograd_run(grader.ds, variant, plan.compare_steps)
        ref_ms = reference_ms(grader.ds, variant)
    speed = speed_note(run, ref_ms, auto.backward_ms, code)
    cause = (speed.removeprefix("speed: ") if speed else slow_cause(code)) if run.stop == "time" else ""
    full = evaluate(grader.ds, variant, run.final, run.done) if plan.full and run.final and run.done else None
    check, facts = training_check(run, auto, plan, failure, per_step, full, cause)
    result.checks = merge_variants(per_variant, grader.options.private_variants) + [check]
    grader.score(ex, result)
    result.extra = extras(plan, run, auto, per_step, facts, full, speed, ref_ms)
    return result


def checkpoint_checks(ds, variant, run: StudentRun, failure: str,
                      tolerance: compare.Tolerance | None = None) -> list[tuple[int, list[CheckResult]]]:
    """(step, seven checks) for every checkpoint: the student's gradients against autograd's on the same parameters."""
    steps = [ck.step for ck in run.checkpoints]
    batches, _ = replay(ds, variant, max(steps, default=0) + 1)
    shapes = {k: v.shape for k, v in training.init(ds, variant)[0].items()}
    out = []
    for ck in run.checkpoints:
        ix = batches[ck.step] if 0 <= ck.step < len(batches) else None
        if ix is None or not torch.equal(ck.ix, ix) or any(ck.params[k].shape != shapes[k] for k in NAMES):
            checks = [CheckResult(name, ERROR, message=f"the data your run sent for step {ck.step} is not the loop's "
                                                       "(its batch or parameter shapes were changed)") for name in NAMES]
            out.append((ck.step, checks))
            continue
        Xb, Yb = ds.Xtr[ix], ds.Ytr[ix]
        ref32, ref64 = autograd_gradients(ck.params, Xb, Yb, torch.float32), autograd_gradients(ck.params, Xb, Yb, torch.float64)
        checks = []
        for name in NAMES:
            check = compare.compare(name, ck.answers[name], ref32[name], ref64[name], variant.batch_size,
                                    tolerance)
            if check.status == MISSING and failure and ck.answers[name].kind == "missing":
                check.status, check.message = ERROR, f"d{name} was never assigned: {failure}"
            checks.append(check)
        out.append((ck.step, checks))
    if not out:  # the loop never reached a step: compare "nothing" with step 0 for the shapes and the reason
        params, _ = training.init(ds, variant)
        ref = autograd_gradients(params, ds.Xtr[batches[0]], ds.Ytr[batches[0]], torch.float32)
        reason = failure or "your run sent nothing back"
        out.append((0, [CheckResult(name, ERROR, expected_shape=list(ref[name].shape),
                                    message=f"d{name} was never computed: {reason}") for name in NAMES]))
    return out


def merge_checkpoints(per_step: list) -> list[CheckResult]:
    """One check per gradient: the first checkpoint where it fails, else a pass that names every step checked."""
    merged = []
    steps = [step for step, _ in per_step]
    where = _at(steps)
    for k in range(len(NAMES)):
        checks = [(step, checks[k]) for step, checks in per_step]
        bad = next(((step, c) for step, c in checks if c.status != PASS), None)
        if bad:
            step, c = bad
            merged.append(dataclasses.replace(c, message=f"at step {step:,}: {c.message}" if len(steps) > 1 or step else c.message))
            continue
        first = checks[0][1]
        exact = all(c.exact for _, c in checks)
        approx = all(c.approximate for _, c in checks)
        maxdiff = max(c.maxdiff or 0.0 for _, c in checks)
        kind = "exact" if exact else f"approximate (maxdiff up to {maxdiff:.3g})" if approx else \
            f"within float32 round-off (maxdiff up to {maxdiff:.3g})"
        merged.append(dataclasses.replace(first, exact=exact, approximate=approx, maxdiff=maxdiff,
                                          message=f"{kind} at {where} of your own training"))
    return merged


def _steps(steps: list) -> str:
    """'0, 10, 1,000 and 3,999'."""
    text = [f"{s:,}" for s in steps]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " and " + text[-1]


def _at(steps: list) -> str:
    """'step 0' or 'steps 0, 10 and 1,000'."""
    return ("step " if len(steps) == 1 else "steps ") + _steps(steps)


STOPS = {"invalid": "the gradients could not update the parameters", "nonfinite": "a gradient held NaN or inf",
         "error": "your code raised an error", "changed": "your code changed a parameter",
         "diverged": "the loss became inf or NaN", "self": "your code stopped the run itself"}


def training_check(run: StudentRun, auto, plan: Plan, failure: str, per_step: list, full: dict | None = None,
                   cause: str = "") -> tuple[CheckResult, dict]:
    """Does the student's backward train the network as autograd does? (check, facts for the summary)

    `cause` says why a run that hit the time limit was slow.
    """
    check = CheckResult(TRAINING, FAIL)
    facts: dict = {}
    last = run.checkpoints[-1].step if run.checkpoints else 0
    bad = next((c for step, checks in per_step if step == last for c in checks if c.status != PASS), None)
    if run.stop in ("error", "changed", "self"):  # "self": its own code sent the stop signal (grader/training/run.py)
        check.status = ERROR
        check.message = f"training stopped at step {last:,}: {failure}" if run.done else f"training did not run: {failure}"
        return check, facts
    if run.stop == "invalid" and bad and all(c.status == MISSING for step, checks in per_step if step == last for c in checks):
        check.status = MISSING
        check.message = "not attempted yet: every gradient is still None, so training stopped at step 0"
        return check, facts
    if run.stop == "invalid":
        what = bad.message if bad else "the gradients are not tensors shaped like the parameters"
        check.message = f"training stopped at step {last:,}: the update needs each d<name> shaped like its parameter; {what}"
        return check, facts
    if run.stop == "nonfinite":
        verb = "holds" if "," not in run.detail else "hold"
        check.message = (f"training stopped at step {last:,}: {run.detail} {verb} NaN or inf, so the update would "
                         "poison the parameters (a division by zero or a log of zero?); autograd's are finite there")
        return check, facts
    if run.stop == "diverged":
        check.message = (f"the loss became {run.losses[-1].item() if len(run.losses) else 'inf'} at step {run.done:,}: "
                         "the parameters grew without bound (a gradient far too large, or with the wrong sign)")
        return check, facts
    n = min(run.done, len(run.losses), len(auto.losses))
    if n < min(MIN_TRAINING_STEPS, plan.compare_steps):
        check.status = ERROR
        check.message = f"{failure or 'the run stopped early'}: too few steps to compare with autograd's training"
        if run.stop == "time":
            advice = "vectorise it, or raise the limit with --time-limit" if "loop" in cause else "raise the limit with --time-limit"
            check.message += f". {cause[:1].upper() + cause[1:]}; {advice}"
        return check, facts
    window = max(1, n // 10)
    mine, theirs = run.losses[n - window:n].mean().item(), auto.losses[n - window:n].mean().item()
    drift = (run.losses[:n] - auto.losses[:n]).abs().max().item()
    facts.update(step=n, loss=mine, autograd_loss=theirs, first=run.losses[:10].mean().item(), drift=drift)
    check.maxdiff = drift
    params_off = None
    if n == plan.compare_steps and run.done >= n and not plan.full:
        params_off = {k: ((run.final[k] - auto.params[k]).abs().max() / auto.params[k].abs().max().clamp(min=1e-8)).item()
                      for k in NAMES} if run.final else None
        facts["params_off"] = params_off
    worst = max(params_off, key=params_off.get) if params_off else None
    loss_ok = abs(mine - theirs) <= LOSS_TOL
    params_ok = params_off is None or params_off[worst] <= PARAM_TOL
    said = f"mean loss over steps {n - window:,}-{n:,}: yours {mine:.4f}, autograd's {theirs:.4f}"
    if loss_ok and params_ok:
        check.status = PASS
        check.message = f"trains as autograd does ({said}; the loss never differs by more than {drift:.2g})"
    elif mine > facts["first"] - 0.05:
        check.message = (f"your training does not learn ({said}; {facts['first']:.4f} over the first 10 steps): "
                         "a gradient with the wrong sign or scale?")
    elif not loss_ok:
        check.message = f"your training departs from autograd's ({said}): some gradient is wrong, see the table"
    else:
        check.message = (f"reaches autograd's loss ({said}) but the parameters end up elsewhere ({worst} is "
                         f"{params_off[worst]:.2g} off, relative): some gradient is wrong, see the table")
    if check.status == PASS and plan.full and run.done == plan.steps and full and "val" in full:
        if full["val"] > REFERENCE_FULL["val"] + FULL_TOL:
            check.status = FAIL
            check.message = (f"after {run.done:,} steps your val loss is {full['val']:.4f}; the reference solution "
                             f"reaches {REFERENCE_FULL['val']:.4f} at this seed: some gradient is off late in training")
        else:
            check.message += f"; after {run.done:,} steps val loss {full['val']:.4f} (reference {REFERENCE_FULL['val']:.4f})"
    elif run.done < plan.steps and check.status == PASS:
        check.message += f"; the full run {failure or 'stopped early'}" if plan.full else \
            f"; judged on the {n:,} steps done ({failure or 'stopped early'})"
    return check, facts


def speed_note(run: StudentRun, ref_ms: float, autograd_ms: float, code) -> str:
    """How fast the student's block is next to the reference's; the likely cause when it is much slower."""
    if run.done < 2 or run.backward_ms <= 0:
        return ""
    mine = run.backward_ms
    text = (f"speed: your backward takes {mine:.2f} ms per step, the reference {ref_ms:.2f} ms "
            f"(autograd's loss.backward() {autograd_ms:.2f} ms)")
    if mine > SLOW_RATIO * ref_ms and mine - ref_ms > SLOW_MS:
        minutes = training.MAX_STEPS * (mine - ref_ms) / 6e4
        text += f"; {slow_cause(code)}. That adds about {minutes:.0f} min to a full run of {training.MAX_STEPS:,} steps"
    return text


def slow_cause(code) -> str:
    """The Python loop that most likely makes a backward block slow, named by its line."""
    try:
        loops = [node for node in ast.walk(ast.parse(code.code)) if isinstance(node, (ast.For, ast.While))]
    except SyntaxError:
        loops = []
    header = lambda node: code.code.split("\n")[node.lineno - 1].strip()  # noqa: E731
    loops = [node for node in loops if "parameters" not in header(node)]  # `for p in parameters: p.grad = None` is cheap
    if not loops:
        return "no Python loop found: look for .item(), .tolist() or indexing one row at a time"
    loop = max(loops, key=lambda node: ("Xb" in header(node), -node.lineno))
    hint = "; torch.zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, n_embd)) does dC in one call" \
        if "dC" in ast.unparse(loop) else ""
    return f"the Python loop at {code.locate(loop.lineno)} (`{header(loop)}`) is the usual cause{hint}"


def curve(losses: torch.Tensor, block: int) -> list[float]:
    """The lecture's lossi (log10 of the loss) averaged per `block` steps, complete blocks only."""
    whole = len(losses) // block * block
    return losses[:whole].double().log10().view(-1, block).mean(1).tolist() if whole else []


def extras(plan: Plan, run: StudentRun, auto, per_step: list, facts: dict, full: dict | None, speed: str,
           ref_ms: float) -> dict:
    """ExerciseResult.extra: the summary lines, the curves and their plot, the per-checkpoint table, timings."""
    from grader.training.plots import loss_curves_png

    stop = f" ({run.stopped_message() or STOPS.get(run.stop, run.stop)})" if run.stop else ""
    summary = [f"{'full run' if plan.full else 'quick check'}: {run.done:,} of {run.steps:,} steps trained on your "
               f"gradients in {run.seconds:.1f} s{stop}"]
    if facts:
        summary.append(f"loss at step {facts['step']:,} (mean of the last tenth): yours {facts['loss']:.4f}, "
                       f"autograd's {facts['autograd_loss']:.4f}")
    missed = [s for s in plan.checkpoints if s not in {step for step, _ in per_step}]
    summary.append(f"gradients checked at {_at([s for s, _ in per_step])} of your own training"
                   + (f" (not reached: {_steps(missed)})" if missed and run.stop in ("time", "user") else ""))
    if speed:
        summary.append(speed)
    n = min(len(run.losses), len(auto.losses))
    panels = [{"title": f"first {n:,} steps" if plan.full else f"{n:,} steps", "block": 100,
               "series": {"your gradients": curve(run.losses[:n], 100), "autograd": curve(auto.losses[:n], 100)}}]
    if plan.full:
        panels.append({"title": f"full run, {run.done:,} steps", "block": plan.block,
                       "series": {"your gradients": run.lossi.tolist()}})
    if full and "error" not in full:
        summary.append(f"after {run.done:,} steps and BatchNorm calibration: train {full['train']:.4f}, val {full['val']:.4f} (reference solution "
                       f"at this seed {REFERENCE_FULL['train']:.4f} / {REFERENCE_FULL['val']:.4f}; the lecture's "
                       f"{LECTURE_FULL['train']} / {LECTURE_FULL['val']})")
        summary.append("samples: " + ", ".join(full["samples"]))
    elif full:
        summary.append(f"no evaluation: {full['error']}")
    table = [{"step": step, "checks": [{"name": c.name, "status": c.status, "maxdiff": c.maxdiff, "message": c.message}
                                       for c in checks]} for step, checks in per_step]
    return {"summary": summary, "training": {
        "mode": "full" if plan.full else "quick", "steps": run.steps, "steps_done": run.done, "stop": run.stop,
        "seconds": round(run.seconds, 3), "loss": facts, "curves": panels, "plot": loss_curves_png(panels),
        "checkpoints": table, "full": full, "reference_full": REFERENCE_FULL, "lecture_full": LECTURE_FULL,
        "timing": {"backward_ms": round(run.backward_ms, 4), "reference_ms": round(ref_ms, 4),
                   "autograd_backward_ms": round(auto.backward_ms, 4), "autograd_step_ms": round(auto.step_ms, 4)}}}
