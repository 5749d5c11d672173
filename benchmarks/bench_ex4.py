"""Exercise 4 benchmarks: quick-mode grading time, the training check's drift study, a full run against bare autograd.

    python benchmarks/bench_ex4.py            # quick mode: grade the reference solution (3 times), time each part
    python benchmarks/bench_ex4.py --drift [--steps N]  # detection power: the tolerance study's blocks through the quick check
    python benchmarks/bench_ex4.py --full     # 200,000 steps: the lecture's bare autograd loop, then full-mode grading

--full trains the lecture's loop with loss.backward() in this process (one thread, like the grader's
worker), evaluates it as the lecture does, then grades solutions/ex4_training.py with --full in the
same run; it prints both times and their ratio (the issue wants <= 1.2), train/val loss and samples.
The blocks of --drift are benchmarks/tolerance_study.py's exercise-4 solutions.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from grader import data, model
from grader.training import loop as training, run as training_run  # noqa: E402
from grader.grading import Grader, Options  # noqa: E402

SOLUTION = ROOT / "solutions" / "ex4_training.py"
ANSWER = ROOT / "tests" / "fixtures" / "notebooks" / "answer.ipynb"  # the lecture's answers: dC by a loop over Xb


def grade(grader: Grader, path: Path):
    t0 = time.perf_counter()
    result = grader.grade([path], exercise=4)
    return result.exercise(4), time.perf_counter() - t0


def quick(names, repeats: int) -> None:
    """Grade the reference solution and the lecture's answer notebook (its dC loop) in quick mode, exercise 4 only.

    The first run may pay for autograd's trajectory (cached on disk after that).
    """
    t0 = time.perf_counter()
    with Grader(names) as grader:
        grader.sandbox.warm()
        print(f"grader start (dataset, warm worker): {time.perf_counter() - t0:.2f} s")
        for path in (SOLUTION, ANSWER):
            for k in range(repeats):
                ex, seconds = grade(grader, path)
                t = ex.extra["training"]
                print(f"{path.name} run {k + 1}: {ex.score:g}/{ex.max_score:g} in {seconds:.2f} s (child {t['seconds']:.2f} s "
                      f"for {t['steps_done']:,} steps; your block {t['timing']['backward_ms']:.3f} ms/step; timed back to "
                      f"back: yours {t['timing']['yours_ms']:.3f}, reference {t['timing']['reference_ms']:.3f} ms, ratio "
                      f"{t['timing']['ratio']:.2f} [{t['timing']['ratio_low']:.2f}-{t['timing']['ratio_high']:.2f}]; "
                      f"safety limit {t['timing']['limit_seconds']:.1f} s)")


def drift(names, steps: int | None) -> None:
    """Each exercise-4 block of the tolerance study through the grader: training verdict and distance from autograd."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import tempfile

    import tolerance_study as study

    options = Options()
    if steps:
        options.ex4["steps"] = steps
    with Grader(names, options=options) as grader, tempfile.TemporaryDirectory() as tmp:
        print(f"{'block':58s} {'grads':>7s} {'training':>8s} {'loss diff':>9s} {'max drift':>9s} {'params off':>10s}")
        named = wrong = false = 0
        for sol in study.ex4_solutions():
            if sol.float64:
                continue
            path = Path(tmp) / "ex4_block.py"
            path.write_text(sol.code)
            ex, _ = grade(grader, path)
            grads = sum(c.passed for c in ex.checks if c.name != "training")
            check = ex.checks[-1]
            facts = ex.extra["training"]["loss"] or {}
            off = max((facts.get("params_off") or {0: float("nan")}).values())
            diff = abs(facts["loss"] - facts["autograd_loss"]) if facts else float("nan")
            print(f"{sol.label[:58]:58s} {grads:>5d}/7 {check.status:>8s} {diff:9.2e} {check.maxdiff or 0:9.2e} {off:10.2e}")
            if check.status != "pass":
                print(f"    {check.message}")
            causes = [f"d{c.name}: {c.diagnosis}" if c.diagnosis else f"d{c.name}: {c.message.split('Likely cause: ')[1]}"
                      for c in ex.checks[:-1] if c.diagnosis or "Likely cause: " in c.message]
            inside = re.search(r"your `d(\w+)` inside the block is wrong[^:]*: (.*)", check.message)
            if inside and not causes and "differs from autograd" not in inside.group(2):  # an intermediate: told on this row
                causes = [f"d{inside.group(1)}: {inside.group(2)}"]
            named += bool(causes) if grads < 7 or check.status != "pass" else 0
            wrong += grads < 7 or check.status != "pass"
            false += sum(bool(c.diagnosis) for c in ex.checks[:-1] if c.passed)
            if causes:
                print(f"    cause: {causes[0]}")
        print(f"wrong blocks with a named cause: {named} of {wrong}; causes on passing rows: {false}")


def bare_autograd_loop(ds, variant: model.Variant, steps: int) -> tuple[dict, float]:
    """The lecture's exercise-4 loop with loss.backward(), as written in the notebook; (parameters, seconds)."""
    g = torch.Generator().manual_seed(variant.seed)
    p = model.init_parameters(ds.vocab_size, ds.block_size, variant, g)
    C, W1, b1, W2, b2, bngain, bnbias = (p[k] for k in model.PARAMETER_NAMES)
    parameters = [C, W1, b1, W2, b2, bngain, bnbias]
    for q in parameters:
        q.requires_grad = True
    Xtr, Ytr, batch_size = ds.Xtr, ds.Ytr, variant.batch_size
    F = torch.nn.functional
    t0 = time.perf_counter()
    for i in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
        Xb, Yb = Xtr[ix], Ytr[ix]
        emb = C[Xb]
        embcat = emb.view(emb.shape[0], -1)
        hprebn = embcat @ W1 + b1
        bnmean = hprebn.mean(0, keepdim=True)
        bnvar = hprebn.var(0, keepdim=True, unbiased=True)
        bnvar_inv = (bnvar + 1e-5) ** -0.5
        bnraw = (hprebn - bnmean) * bnvar_inv
        hpreact = bngain * bnraw + bnbias
        h = torch.tanh(hpreact)
        logits = h @ W2 + b2
        loss = F.cross_entropy(logits, Yb)
        for q in parameters:
            q.grad = None
        loss.backward()
        lr = 0.1 if i < 100000 else 0.01
        for q in parameters:
            q.data += -lr * q.grad
        if i % 10000 == 0:
            print(f"{i:7d}/{steps:7d}: {loss.item():.4f}", flush=True)
    return {k: v.detach() for k, v in p.items()}, time.perf_counter() - t0


def full(names, steps: int) -> None:
    """Bare autograd loop, then full-mode grading of the reference solution, in one process."""
    torch.set_num_threads(1)
    ds = data.load(names)
    variant = training.variant_for(model.PUBLIC)
    params, bare = bare_autograd_loop(ds, variant, steps)
    ev = training_run.evaluate(ds, variant, params, steps)
    print(f"bare autograd loop: {steps:,} steps in {bare:.1f} s ({1e3 * bare / steps:.3f} ms/step); "
          f"train {ev['train']:.4f}, val {ev['val']:.4f}")
    print("  samples: " + ", ".join(ev["samples"]))
    options = Options()
    options.ex4.update(full=True, time_limit=3600.0)
    with Grader(names, options=options) as grader:
        grader.sandbox.warm()
        ex, seconds = grade(grader, SOLUTION)
    t = ex.extra["training"]
    print(f"full-mode grading: {ex.score:g}/{ex.max_score:g} in {seconds:.1f} s (child {t['seconds']:.1f} s for "
          f"{t['steps_done']:,} steps); ratio to the bare loop {seconds / bare:.3f}")
    for line in ex.extra["summary"]:
        print("  " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drift", action="store_true")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--steps", type=int, default=None, help="quick steps for --drift; steps of --full's bare loop")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--names", default=None)
    args = parser.parse_args()
    names = data.names_path(args.names)
    if args.full:
        full(names, args.steps or training.MAX_STEPS)
    elif args.drift:
        drift(names, args.steps)
    else:
        quick(names, args.repeats)


if __name__ == "__main__":
    main()
