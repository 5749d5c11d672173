"""What exercise 4 tells a student besides the verdicts: speed, the summary lines, the curves, the progress bar."""
from __future__ import annotations

import ast
from contextlib import contextmanager

import torch

from grader.results import PASS
from grader.training import loop as training

ABOUT_SAME = 1.25  # yours/reference within this factor (either way), or within the pairs' spread: "about the same"
CLEARLY_SLOW = 2.0  # a slow line is named only when even the faster quarter of the pairs is this many times slower


def speed(run) -> dict:
    """The student's block against the reference's, timed back to back in the same child: fastest runs and spread."""
    if len(run.pairs) < 3:
        return {}
    import statistics
    ratios = sorted(a / b for a, b in run.pairs)
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 4 else [ratios[0], statistics.median(ratios), ratios[-1]]
    yours, ref = min(a for a, _ in run.pairs), min(b for _, b in run.pairs)  # the least disturbed run of each
    return {"yours_ms": yours, "reference_ms": ref, "ratio": yours / ref, "ratio_low": q[0], "ratio_high": q[-1],
            "pairs": len(ratios)}


def speed_note(run, code) -> str:
    """How fast the student's block is next to the reference's; the likely cause only when clearly slower."""
    s = speed(run)
    if not s:
        return ""
    timed = f"yours {s['yours_ms']:.2f} ms per step, the reference {s['reference_ms']:.2f} ms, fastest of {s['pairs']} runs back to back"
    if s["ratio_low"] <= 1.0 <= s["ratio_high"] or 1 / ABOUT_SAME <= s["ratio"] <= ABOUT_SAME:
        return f"speed: your backward block is about as fast as the reference's ({timed})"
    if s["ratio"] < 1.0:
        return f"speed: your backward block is {1 / s['ratio']:.1f}x faster than the reference's ({timed})"
    text = f"speed: your backward block is {s['ratio']:.1f}x slower than the reference's ({timed})"
    if s["ratio_low"] >= CLEARLY_SLOW:
        minutes = training.MAX_STEPS * (s["yours_ms"] - s["reference_ms"]) / 6e4
        text += f"; {slow_cause(code)}. That adds about {minutes:.0f} min to a full run of {training.MAX_STEPS:,} steps"
    return text


def slow_cause(code) -> str:
    """The Python loop that most likely makes a backward block slow, named by its line."""
    try:
        loops = [node for node in ast.walk(ast.parse(code.code)) if isinstance(node, (ast.For, ast.While))]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        loops = []
    header = lambda node: code.code.split("\n")[node.lineno - 1].strip()  # noqa: E731
    loops = [node for node in loops if "parameters" not in header(node)]  # `for p in parameters: p.grad = None` is cheap
    if not loops:
        return "no Python loop found: look for .item(), .tolist() or indexing one row at a time"
    loop = max(loops, key=lambda node: ("Xb" in header(node), -node.lineno))
    hint = "; torch.zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, n_embd)) does dC in one call" \
        if "dC" in ast.unparse(loop) else ""
    return f"the Python loop at {code.locate(loop.lineno)} (`{header(loop)}`) is the usual cause{hint}"


def _steps(steps: list) -> str:
    """'0, 10, 1,000 and 3,999'."""
    text = [f"{s:,}" for s in steps]
    return text[0] if len(text) == 1 else ", ".join(text[:-1]) + " and " + text[-1]


def _at(steps: list) -> str:
    """'step 0' or 'steps 0, 10 and 1,000'."""
    return ("step " if len(steps) == 1 else "steps ") + _steps(steps)


STOPS = {"invalid": "the gradients could not update the parameters", "nonfinite": "a gradient held NaN or inf",
         "error": "your code raised an error", "changed": "your code changed a parameter",
         "diverged": "the loss became inf or NaN", "time": "too slow to grade",
         "self": "your code stopped the run itself"}
# After 200,000 steps at the public seed, BatchNorm calibrated (benchmarks/bench_ex4.py --full): the
# reference solution and the lecture's loop with loss.backward() both end at train 2.0711, val 2.1119
REFERENCE_FULL = {"train": 2.0711, "val": 2.1119}
LECTURE_FULL = {"train": 2.0705, "val": 2.1099}  # what the lecture reports (its own seed and init)


def curve(losses: torch.Tensor, block: int) -> list[float]:
    """The lecture's lossi (log10 of the loss) averaged per `block` steps, complete blocks only."""
    whole = len(losses) // block * block
    return losses[:whole].double().log10().view(-1, block).mean(1).tolist() if whole else []


def extras(plan, run, auto, per_step: list, facts: dict, full: dict | None, speed_text: str, inter: dict,
           plot: bool = True) -> dict:
    """ExerciseResult.extra: the summary lines, the curves and their plot, the per-checkpoint table, timings.

    `inter`: step -> the checks of the block's intermediate gradients; `plot`: draw the PNG (matplotlib, ~0.4 s cold).
    """

    stop = f" ({run.stopped_message() or STOPS.get(run.stop, run.stop)})" if run.stop else ""
    summary = [f"{'full run' if plan.full else 'quick check'}: {run.done:,} of {run.steps:,} steps trained on your "
               f"gradients in {run.seconds:.1f} s{stop}"]
    if facts:
        summary.append(f"loss at step {facts['step']:,} (mean of the last tenth): yours {facts['loss']:.4f}, "
                       f"autograd's {facts['autograd_loss']:.4f}")
    missed = [s for s in plan.checkpoints if s not in {step for step, _ in per_step}]
    summary.append(f"gradients checked at {_at([s for s, _ in per_step])} of your own training"
                   + (f" (not reached: {_steps(missed)})" if missed and run.stop in ("time", "user") else ""))
    if speed_text:
        summary.append(speed_text)
    n = min(len(run.losses), len(auto.losses))
    per = 100 if n >= 2000 else max(1, n // 20)  # about twenty points for a quick check
    panels = [{"title": f"first {n:,} steps" if plan.full else f"{n:,} steps", "block": per,
               "series": {"your gradients": curve(run.losses[:n], per), "autograd": curve(auto.losses[:n], per)}}]
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
    row = lambda c: {"name": c.name, "status": c.status, "maxdiff": c.maxdiff, "message": c.message,  # noqa: E731
                     "cause": c.diagnosis}
    table = [{"step": step, "checks": [row(c) for c in checks], "intermediates": [row(c) for c in inter.get(step, [])]}
             for step, checks in per_step]
    # where the block's mistake starts at each checkpoint: the first wrong intermediate (the later ones inherit it)
    starts = (next((c["name"] for c in ck["intermediates"] if c["status"] != PASS), None) for ck in table)
    wrong = [name for name in dict.fromkeys(starts) if name is not None]
    if plot:
        from grader.training.plots import loss_curves_png
    timed = speed(run)
    return {"summary": summary, "training": {
        "mode": "full" if plan.full else "quick", "steps": run.steps, "steps_done": run.done, "stop": run.stop,
        "seconds": round(run.seconds, 3), "loss": facts, "curves": panels, "plot": loss_curves_png(panels) if plot else "",
        "checkpoints": table, "wrong_intermediates": _wrong_rows(table, wrong), "full": full, "reference_full": REFERENCE_FULL, "lecture_full": LECTURE_FULL,
        "timing": {"backward_ms": round(run.backward_ms, 4), "reference_ms": round(timed.get("reference_ms", 0.0), 4),
                   "autograd_backward_ms": round(auto.backward_ms, 4), "autograd_step_ms": round(auto.step_ms, 4),
                   "reference_step_ms": round(run.reference_ms, 4), "limit_seconds": round(run.limit, 3),
                   "yours_ms": round(timed.get("yours_ms", 0.0), 4), "ratio": round(timed.get("ratio", 0.0), 3),
                   "ratio_low": round(timed.get("ratio_low", 0.0), 3), "ratio_high": round(timed.get("ratio_high", 0.0), 3),
                   "pairs": timed.get("pairs", 0)}}}


@contextmanager
def progress_bar(plan):
    """A rich progress bar with ETA on the terminal (stderr) fed by the child's progress records; None otherwise."""
    from rich.console import Console

    console = Console(stderr=True)
    if plan is None or not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn("exercise 4, {task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("full run" if plan.full else "quick check", total=plan.steps, loss="-")

        def update(record: dict) -> None:
            step, loss = record.get("step"), record.get("loss")
            if isinstance(step, int):
                bar.update(task, completed=min(max(step, 0), plan.steps))
            if isinstance(loss, (int, float)):
                bar.update(task, loss=f"{loss:.4f}")
        yield update


def _wrong_rows(table: list, names: list) -> list:
    """The block's intermediates that are wrong at some checkpoint, a row each: its cell per step, its first cause."""
    rows = []
    for name in names:
        cells = [next((c for c in ck["intermediates"] if c["name"] == name), None) for ck in table]
        first = next((c for c in cells if c is not None and c["status"] != PASS), None)
        rows.append({"name": name, "cells": cells, "cause": first["cause"] if first else "",
                     "step": next(ck["step"] for ck, c in zip(table, cells) if c is first)})
    return rows
