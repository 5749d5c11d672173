"""Grade exercise 4: the student's backward block trains the lecture's MLP in the sandbox; autograd checks it here.

Gradients: at each checkpoint the child sent (parameters, batch indices, the student's gradients and
the block's own intermediate ones), autograd's gradients are recomputed in this process and compared with
exercises 1-3's rule; a gradient passes only if it passes at every checkpoint, and a wrong one is blamed on
the first wrong intermediate upstream of it. Training: autograd's run of the same steps (computed once,
cached) is compared with the student's. The verdict never depends on speed: the quick check does a fixed
amount of work, and a block too slow for its safety limit is "too slow to grade", whatever the load.
"""
from __future__ import annotations

import dataclasses

import torch

from grader import compare
from grader.submissions import scan
from grader.training import loop as training
from grader.exercises import EX4_NAMES as NAMES, get as get_exercise
from grader.verdicts import describe_failure, merge_variants
from grader.results import ERROR, FAIL, MISSING, PASS, TRAINING, CheckResult, ExerciseResult
from grader.training.feedback import REFERENCE_FULL, _at, extras, slow_cause, speed_note
from grader.training.phases import Phases
from grader.training.run import Plan, StudentRun, autograd_gradients, autograd_run, evaluate, replay
from grader.training.carry import block_check, carried, fix_first
from grader.training.causes import Explainer

# The training check's tolerances (benchmarks/bench_ex4.py --drift): correct blocks in other float
# orders end within 4e-7 of autograd's loss and parameters after 100-500 steps (4e-6 after 20,000); the
# subtlest wrong block of the tolerance study (n for n-1 in dhprebn) fails its gradients at every checkpoint
# and ends 5.8e-4 / 9.9e-4 / 1.5e-3 off autograd's parameters after 100 / 200 / 500 steps.
LOSS_TOL = 1e-3  # |mean loss over the last tenth of the steps|, yours vs autograd's
PARAM_TOL = 1e-4  # max |p - p_autograd| / max |p_autograd| after the quick run
MIN_TRAINING_STEPS = 1000  # a run stopped early (Ctrl-C, a full run's limit) is judged on its steps if it made this many
FULL_TOL = 0.01  # a complete full run must reach the reference's val loss within this
# each parameter's gradient flows through these intermediates first (the forward pass in backward order)
FEEDS = {"W2": 1, "b2": 1, "bngain": 3, "bnbias": 3, "W1": 7, "b1": 7, "C": 9}  # -> INTERMEDIATES[:k]
BACKWARD = ("W2", "b2", "bngain", "bnbias", "W1", "b1", "C")


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
        per_step, inter = checkpoint_checks(grader.ds, variant, run, failure, grader.options.tolerance,
                                            grader.options.hints)
    runs = [(public, variant, per_step, inter)]  # each variant: its network, checks per checkpoint, intermediates
    if run.reached(training.HIDDEN_STEPS) and run.stop != "user":
        small = plan.hidden()
        for k, other in enumerate(hidden, 1):
            with say.phase(f"hidden variant {k} of {len(hidden)}", small.steps) as on_progress:
                out = grader.sandbox.run(4, code.code, training.variant_for(other), small.limits(grader.options.limits),
                                         small.request(), on_progress)
            hrun, hfail = StudentRun.decode(out, small), describe_failure(out, code)
            hfail = hfail or hrun.stopped_message()
            checks, hinter = checkpoint_checks(grader.ds, training.variant_for(other), hrun, hfail, grader.options.tolerance,
                                               grader.options.hints)
            runs.append((other, training.variant_for(other), checks, hinter))
            result.seconds += out.seconds
    # after every as-written run: a gradient wrong only because it read a wrong intermediate, given right inputs
    per_variant = [(v, carried(grader, code, plan, net, steps, merge_checkpoints(steps)) if grader.options.follow_through
                    else merge_checkpoints(steps))
                   for v, net, steps, _ in runs]
    with say.phase("autograd's training, to compare"):
        auto = autograd_run(grader.ds, variant, plan.compare_steps)
    speed = speed_note(run, code)
    full = evaluate(grader.ds, variant, run.final, run.done) if plan.full and run.final and run.done else None
    if run.stop == "time" and not plan.full:
        result.checks = too_slow(run, code)
        facts = {}
    else:
        cause = (speed.removeprefix("speed: ") if speed else slow_cause(code)) if run.stop == "time" else ""
        check, facts = training_check(run, auto, plan, failure, per_step, full, cause, blame(per_step, inter))
        if grader.options.follow_through:
            block_check(check, runs, grader.options.private_variants)
        result.checks = merge_variants(per_variant, grader.options.private_variants) + [check]
        if grader.options.follow_through:
            result.fix_first = fix_first(result.checks, code, runs)
    grader.score(ex, result)
    result.extra = extras(plan, run, auto, per_step, facts, full, speed, inter, grader.options.ex4.get("plot", True))
    return result


def too_slow(run: StudentRun, code) -> list[CheckResult]:
    """The quick check's safety limit fired: the same verdict on every row, the slow line named."""
    limit = f"{run.limit:.0f} s" if run.limit else "its time limit"
    basis = (f"{training.SAFETY_FACTOR:g}x the reference solution's {run.reference_ms:.2f} ms per step, measured in the "
             f"same run, plus {training.SAFETY_SECONDS:g} s") if run.reference_ms else "the run's time limit"
    message = (f"too slow to grade: {run.done:,} of {run.steps:,} steps in the safety limit of {limit} ({basis}); "
               f"{slow_cause(code)}")
    return [CheckResult(name, ERROR, message=message) for name in NAMES] + [CheckResult(TRAINING, ERROR, message=message)]


def checkpoint_checks(ds, variant, run: StudentRun, failure: str,
                      tolerance: compare.Tolerance | None = None, hints: bool = True) -> tuple[list, dict]:
    """(step, seven checks) for every checkpoint, and step -> checks of the block's intermediate gradients.

    The student's gradients are compared with autograd's on the same parameters and batch; a wrong one
    whose gradient flows through a wrong intermediate is blamed on the first such intermediate. The first
    wrong intermediate and every wrong gradient not blamed on one get a cause and hints (training/causes.py).
    """
    explainer = Explainer(ds, variant, hints)  # each wrong gradient once, at its first wrong checkpoint
    steps = [ck.step for ck in run.checkpoints]
    batches, _ = replay(ds, variant, max(steps, default=0) + 1)
    shapes = {k: v.shape for k, v in training.init(ds, variant)[0].items()}
    out, inter = [], {}
    for ck in run.checkpoints:
        ix = batches[ck.step] if 0 <= ck.step < len(batches) else None
        if ix is None or not torch.equal(ck.ix, ix) or any(ck.params[k].shape != shapes[k] for k in NAMES):
            checks = [CheckResult(name, ERROR, message=f"the data your run sent for step {ck.step} is not the loop's "
                                                       "(its batch or parameter shapes were changed)") for name in NAMES]
            out.append((ck.step, checks))
            continue
        Xb, Yb = ds.Xtr[ix], ds.Ytr[ix]
        i32, i64 = {}, {}
        ref32 = autograd_gradients(ck.params, Xb, Yb, torch.float32, i32 if ck.intermediates else None)
        ref64 = autograd_gradients(ck.params, Xb, Yb, torch.float64, i64 if ck.intermediates else None)
        wrong = {}
        inter[ck.step] = []
        for name in training.INTERMEDIATES:
            answer = ck.intermediates.get(name)
            if answer is None or answer.kind != "tensor" or tuple(answer.tensor.shape) != tuple(i32[name].shape):
                continue  # a name the block does not define (or uses for something else) is not judged
            c = compare.compare(name, answer, i32[name], i64[name], variant.batch_size, tolerance)
            inter[ck.step].append(c)
            if c.status != PASS:
                wrong.setdefault(name, c)
        if wrong:  # the first wrong intermediate had right inputs: its cause, before the gradients that inherit it
            first = next(iter(wrong))
            explainer.explain(ck.step, ck.params, ix, wrong[first], ck.intermediates[first])
        checks = []
        for name in NAMES:
            check = compare.compare(name, ck.answers[name], ref32[name], ref64[name], variant.batch_size, tolerance)
            upstream = next((wrong[x] for x in training.INTERMEDIATES[:FEEDS[name]] if x in wrong), None)
            if check.status == MISSING and failure and ck.answers[name].kind == "missing":
                check.status, check.message = ERROR, f"d{name} was never assigned: {failure}"
            elif check.status == FAIL and upstream is not None and _fits(check):  # a wrong shape is its own
                check.message, check.upstream = inherits(upstream, name), [upstream.name]
            elif check.status != PASS:  # its own mistake: right inputs, or a shape no input explains
                if check.status == FAIL and upstream is not None:
                    check.upstream = [upstream.name]  # its values read a wrong intermediate too: follow-through judges it
                explainer.explain(ck.step, ck.params, ix, check, ck.answers[name])
            checks.append(check)
        out.append((ck.step, checks))
    if not out:  # the loop never reached a step: compare "nothing" with step 0 for the shapes and the reason
        params, _ = training.init(ds, variant)
        ref = autograd_gradients(params, ds.Xtr[batches[0]], ds.Ytr[batches[0]], torch.float32)
        reason = failure or "your run sent nothing back"
        out.append((0, [CheckResult(name, ERROR, expected_shape=list(ref[name].shape),
                                    message=f"d{name} was never computed: {reason}") for name in NAMES]))
    return out, inter


def inherits(upstream: CheckResult, name: str) -> str:
    """'your `dlogits` inside the block ...; everything after it inherits it (dW2 too): fix that first'."""
    what = upstream.message.removeprefix(f"d{upstream.name} ").removeprefix(f"d{upstream.name}: ")
    cause = f". Likely cause: {upstream.diagnosis}" if upstream.diagnosis else ""
    if cause:  # the cause says it better than compare's guess at a factor ("; off by a factor of n = 32: ...")
        what = what.split("; off by ")[0]
    return (f"your `d{upstream.name}` inside the block is wrong ({what}); everything after it inherits it, "
            f"d{name} included: fix that first{cause}")


def _fits(check: CheckResult) -> bool:
    """The answer's shape is its parameter's, but for size-1 dimensions (or unknown: not a shape problem)."""
    return check.shape is None or check.expected_shape is None or compare.fits(tuple(check.shape), tuple(check.expected_shape))


def blame(per_step: list, inter: dict) -> str:
    """The gradient a failed training is blamed on: the first wrong one, upstream first, at the first step it is wrong."""
    for step, checks in per_step:
        bad = next((c for c in inter.get(step, []) if c.status != PASS), None)
        if bad is None:
            by_name = {c.name: c for c in checks}
            bad = next((by_name[n] for n in BACKWARD if n in by_name and by_name[n].status != PASS), None)
        if bad is not None:
            if bad.name in NAMES:
                return f"your d{bad.name} is wrong from step {step:,} on (see its row)"
            why = f": {bad.diagnosis}" if bad.diagnosis else ""
            return f"your `d{bad.name}` inside the block is wrong from step {step:,} on{why}"
    return ""


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


def training_check(run: StudentRun, auto, plan: Plan, failure: str, per_step: list, full: dict | None = None,
                   cause: str = "", culprit: str = "") -> tuple[CheckResult, dict]:
    """Does the student's backward train the network as autograd does? (check, facts for the summary)

    `cause` says why a full run that hit its time limit was slow; `culprit` names the gradient a
    failed training is blamed on (blame()).
    """
    check = CheckResult(TRAINING, FAIL)
    facts: dict = {}
    last = run.checkpoints[-1].step if run.checkpoints else 0
    bad = next((c for step, checks in per_step if step == last for c in checks if c.status != PASS), None)
    misfit = next((c for step, checks in per_step if step == last for c in checks if c.status != PASS and not _fits(c)), None)
    if run.stop in ("error", "changed", "self"):  # "self": its own code sent the stop signal (grader/training/run.py)
        check.status = ERROR
        check.message = f"training stopped at step {last:,}: {failure}" if run.done else f"training did not run: {failure}"
        return check, facts
    if run.stop == "invalid" and bad and all(c.status == MISSING for step, checks in per_step if step == last for c in checks):
        check.status = MISSING
        check.message = "not attempted yet: every gradient is still None, so training stopped at step 0"
        return check, facts
    if run.stop == "invalid":
        what = (misfit or bad).message if bad else "the gradients are not tensors shaped like the parameters"
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
    why = culprit or ("yet your gradients match autograd's at every checkpoint: one is wrong at other steps "
                      "(does your block depend on `i`, or keep values from one step to the next?)")
    if loss_ok and params_ok:
        check.status = PASS
        check.message = f"trains as autograd does ({said}; the loss never differs by more than {drift:.2g})"
    elif mine > facts["first"] - 0.05:
        check.message = f"your training does not learn ({said}; {facts['first']:.4f} over the first 10 steps): {why}"
    elif not loss_ok:
        check.message = f"your training departs from autograd's ({said}): {why}"
    else:
        check.message = f"reaches autograd's loss ({said}) but the parameters end up elsewhere: {why}"
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


