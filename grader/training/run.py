"""Exercise 4 on the parent's side: what to run, the student's run as its child sent it back, autograd's own run.

Everything here is the grader's trusted code. A student's run arrives as plain tensors and JSON
(checked before use); autograd's run, the reference's timing and the evaluation after a full run
(BatchNorm calibration, train/val loss, samples) happen in this process.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from grader import model
from grader.training import loop as training
from grader.sandbox import wire
from grader.exercises import EX4_NAMES as NAMES
from grader.sandbox.limits import Limits

# The quick check: a fixed amount of work, whatever the machine's load. 200 steps with gradients compared
# at 5 checkpoints catch every wrong block of the tolerance study (benchmarks/bench_ex4.py --drift), the
# subtlest (n for n-1 in dhprebn) at every checkpoint and in the parameters after 200 steps: 9.9e-4 off,
# 10x check.PARAM_TOL, where correct blocks end within 4e-7 (README). Each step of a slow student loop
# is ~2 ms, so the steps are most of the quick check's time: 500 cost 0.6 s more and caught nothing more.
QUICK_STEPS = 200
QUICK_SECONDS = 300.0  # the worker's hard limit; the child's own safety limit is 50x the reference + 3 s
FULL_SECONDS = 1800.0
HIDDEN_SECONDS = 60.0  # a hidden variant's 11 steps
QUICK_CHECKPOINTS = (0, 1, 10, 100)  # plus the last step
FULL_CHECKPOINTS = (0, 10, 1000, training.DECAY_STEP)
_CACHE: dict = {}  # autograd's runs, per dataset and variant, and the reference's code


@dataclass(frozen=True)
class Plan:
    """How exercise 4 runs: quick (a few thousand steps) or full (200,000), its limit and checkpoints."""

    full: bool
    steps: int
    seconds: float
    block: int  # the loss curve is averaged per this many steps
    checkpoints: tuple
    compare_steps: int  # steps autograd trains in this process for the training check
    timed: bool = True  # the child times the reference (the safety limit) and the student's block against it

    @classmethod
    def from_options(cls, options) -> "Plan":
        ex4 = options.ex4 or {}
        full = bool(ex4.get("full"))
        quick = int(ex4.get("steps") or QUICK_STEPS)
        steps = training.MAX_STEPS if full else quick
        seconds = float(ex4.get("time_limit") or (FULL_SECONDS if full else QUICK_SECONDS))
        marks = {s for s in (FULL_CHECKPOINTS if full else QUICK_CHECKPOINTS) if s < steps} | {steps - 1}
        return cls(full, steps, seconds, 1000 if full else 100, tuple(sorted(marks)), min(quick, steps))

    def hidden(self) -> "Plan":
        """A hidden variant's short run: its gradients at steps 0 and 10 (no timing: a minute at most)."""
        steps = training.HIDDEN_STEPS
        return Plan(False, steps, min(self.seconds, HIDDEN_SECONDS), 100, (0, steps - 1), 0, timed=False)

    def limits(self, base: Limits) -> Limits:
        return dataclasses.replace(base, seconds=self.seconds)

    def request(self) -> dict:
        return {"steps": self.steps, "block": self.block, "checkpoints": list(self.checkpoints), "full": self.full,
                "reference": reference_code() if self.timed else ""}


def reference_code() -> str:
    """The reference solution's backward block: the child times it (on a decoy) next to the student's."""
    if "reference_code" not in _CACHE:
        from grader.resources import resource_dir
        from grader.submissions.reader import load_submission

        _CACHE["reference_code"] = load_submission(resource_dir("solutions") / "ex4_training.py", 4).exercises[4].code
    return _CACHE["reference_code"]


@dataclass
class Checkpoint:
    """One step of the student's training: the parameters before its update, its batch, the student's gradients."""

    step: int
    loss: float
    params: dict
    ix: torch.Tensor
    answers: dict
    intermediates: dict = field(default_factory=dict)  # the block's own d<name> of the forward pass, as Answers


@dataclass
class StudentRun:
    """What the student's child measured, read defensively from its frame."""

    steps: int = 0
    done: int = 0
    block: int = 100
    stop: str = ""
    detail: str = ""
    seconds: float = 0.0
    backward_ms: float = 0.0
    losses: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    lossi: torch.Tensor = field(default_factory=lambda: torch.zeros(0))
    checkpoints: list = field(default_factory=list)
    final: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    reference_ms: float = 0.0  # one reference step, measured in the child (its safety limit's unit)
    limit: float = 0.0  # the child's time limit, in seconds
    pairs: list = field(default_factory=list)  # [yours ms, reference ms] timed back to back in the child

    @classmethod
    def decode(cls, outcome, plan: Plan) -> "StudentRun":
        """The run from an Outcome; anything malformed is dropped (the checks then say what is missing)."""
        t, m = outcome.tensors, outcome.meta
        run = cls(steps=plan.steps, block=plan.block)
        run.done = max(0, min(_int(m.get("steps_done")), plan.steps))
        run.stop = str(m.get("stop") or "")[:40]
        run.detail = str(m.get("detail") or "")[:300]
        if m.get("stopped_by_user"):  # the parent asked the run to stop (Ctrl-C): whatever the child says
            run.stop = "user"
        elif run.stop == "user":  # the child says "stopped", but nobody asked: its own code sent the signal
            run.stop, run.detail = "self", f"step {_int(m.get('steps_done'))}"
        run.seconds, run.backward_ms = _float(m.get("seconds")), _float(m.get("backward_ms"))
        run.notes = [str(n)[:300] for n in (m.get("notes") or [])[:5] if isinstance(n, str)]
        run.reference_ms, run.limit = _float(m.get("reference_step_ms")), _float(m.get("limit_seconds"))
        pairs = m.get("pairs") if isinstance(m.get("pairs"), list) else []
        run.pairs = [[float(a), float(b)] for a, b in (p for p in pairs[:100] if isinstance(p, list) and len(p) == 2)
                     if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > 0 and b > 0]
        run.losses = _floats(t.get("loss"), training.LOSS_STEPS_CAP)
        run.lossi = _floats(t.get("lossi"), plan.steps // max(plan.block, 1) + 1)
        run.final = _params(t, "final.param.")
        listed = m.get("checkpoints") if isinstance(m.get("checkpoints"), list) else []
        for k, info in enumerate(listed[: len(plan.checkpoints) + 1]):
            params, ix = _params(t, f"ckpt{k}.param."), t.get(f"ckpt{k}.ix")
            step = _int(info.get("step"), -1) if isinstance(info, dict) else -1
            later = not run.checkpoints or step > run.checkpoints[-1].step
            if not (0 <= step < plan.steps and later) or params is None or not isinstance(ix, torch.Tensor) \
                    or ix.dtype != torch.int64:
                continue  # the parent replays the loop's batches up to `step`: only steps the plan has
            grads = {name: t[f"ckpt{k}.grad.{name}"] for name in NAMES if f"ckpt{k}.grad.{name}" in t}
            inter = {name: t[f"ckpt{k}.inter.{name}"] for name in training.INTERMEDIATES if f"ckpt{k}.inter.{name}" in t}
            described = info.get("intermediates") if isinstance(info.get("intermediates"), dict) else {}
            described = {k2: v for k2, v in described.items() if k2 in training.INTERMEDIATES}
            answers = wire.answers(inter, {"values": described}, [n for n in training.INTERMEDIATES if n in described])
            run.checkpoints.append(Checkpoint(step, _float(info.get("loss")), params, ix, _answers(grads, info.get("values")),
                                              answers))
        return run

    def reached(self, steps: int) -> bool:
        """True when at least `steps` steps were trained."""
        return self.done >= steps

    def stopped_message(self) -> str:
        """Why the loop ended before its last step, for a student; '' if it did not (or an error says it)."""
        if self.stop == "time":
            return f"stopped after {self.done:,} of {self.steps:,} steps: {self.detail or 'time limit'}"
        if self.stop == "user":
            return f"stopped by you (Ctrl-C) after {self.done:,} of {self.steps:,} steps"
        if self.stop == "self":
            return (f"stopped itself after {self.done:,} of {self.steps:,} steps (a stop signal the grader did not send): "
                    "only the grader stops a run")
        return ""


def _int(x, default: int = 0) -> int:
    return int(x) if isinstance(x, (int, float)) and math.isfinite(x) else default


def _float(x, default: float = 0.0) -> float:
    return float(x) if isinstance(x, (int, float)) else default


def _floats(x, cap: int) -> torch.Tensor:
    """A 1-D float tensor from the frame, or an empty one."""
    if not isinstance(x, torch.Tensor) or x.dim() != 1 or not x.is_floating_point():
        return torch.zeros(0)
    return x[:cap].float()


def _params(tensors: dict, prefix: str) -> dict | None:
    """The seven parameters under `prefix`, if all are float32 (their shapes are checked where they are used)."""
    out = {name: tensors.get(prefix + name) for name in NAMES}
    if all(isinstance(p, torch.Tensor) and p.dtype == torch.float32 for p in out.values()):
        return out
    return None


def _answers(grads: dict, described) -> dict:
    """The Answer for each gradient at one checkpoint."""
    return wire.answers(grads, {"values": described if isinstance(described, dict) else {}}, NAMES)


@dataclass
class AutogradRun:
    """The same steps trained with loss.backward() in this process."""

    losses: torch.Tensor
    params: dict
    step_ms: float
    backward_ms: float


def autograd_gradients(params: dict, Xb: torch.Tensor, Yb: torch.Tensor, dtype: torch.dtype,
                       intermediates: dict | None = None) -> dict:
    """Autograd's gradient of the exercise-4 loss for each parameter, computed in `dtype`.

    With `intermediates` (a dict), autograd's gradients of the forward pass's intermediates are put there too.
    """
    p = {k: v.detach().to(dtype).requires_grad_() for k, v in params.items()}
    with torch.enable_grad(), model.single_thread():
        values = training.forward(p, Xb, Yb)
        if intermediates is not None:
            for name in training.INTERMEDIATES:
                values[name].retain_grad()
        values["loss"].backward()
    if intermediates is not None:
        intermediates.update({name: values[name].grad for name in training.INTERMEDIATES})
    return {k: t.grad for k, t in p.items()}


def autograd_run(ds, variant: model.Variant, steps: int) -> AutogradRun:
    """Train `steps` steps with autograd, as the lecture's loop does with loss.backward().

    Deterministic, so computed once: kept in this process and in the user cache directory, keyed by
    the grader's version, torch's, this loop's source, the variant and the steps (grader/training/cache.py).
    """
    from grader.training import cache

    key = ("autograd", id(ds), variant, steps)
    if key not in _CACHE:
        stored = cache.load(variant, steps)
        if stored is not None:
            _CACHE[key] = (ds, AutogradRun(*stored))
    if key not in _CACHE:
        params, g = training.init(ds, variant)
        plist = [params[k] for k in NAMES]
        for p in plist:
            p.requires_grad_()
        losses, backward = [], 0.0
        start = time.perf_counter()
        with model.single_thread():
            for i in range(steps):
                ix = training.draw_batch(ds, g, variant.batch_size)
                loss = training.forward(params, ds.Xtr[ix], ds.Ytr[ix])["loss"]
                t0 = time.perf_counter()
                for p in plist:
                    p.grad = None
                loss.backward()
                backward += time.perf_counter() - t0
                with torch.no_grad():
                    training.update(plist, [p.grad for p in plist], training.lr_at(i))
                losses.append(loss.item())
        elapsed = time.perf_counter() - start
        run = AutogradRun(torch.tensor(losses), {k: v.detach() for k, v in params.items()},
                          1e3 * elapsed / max(steps, 1), 1e3 * backward / max(steps, 1))
        _CACHE[key] = (ds, run)  # ds kept alive so that its id is not reused
        cache.store(variant, steps, run.losses, run.params, run.step_ms, run.backward_ms)
    return _CACHE[key][1]


def replay(ds, variant: model.Variant, steps: int) -> tuple[list, torch.Generator]:
    """The loop's batch indices for its first `steps` steps, and the generator after drawing them."""
    _, g = training.init(ds, variant)
    return [training.draw_batch(ds, g, variant.batch_size) for _ in range(steps)], g


@torch.no_grad()
def calibrate(ds, p: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """The lecture's BatchNorm calibration: bnmean and bnvar over the whole training set."""
    emb = p["C"][ds.Xtr]
    embcat = emb.view(emb.shape[0], -1)
    hpreact = embcat @ p["W1"] + p["b1"]
    return hpreact.mean(0, keepdim=True), hpreact.var(0, keepdim=True, unbiased=True)


@torch.no_grad()
def split_loss(p: dict, bn: tuple, x: torch.Tensor, y: torch.Tensor) -> float:
    """The lecture's split_loss: the calibrated network's mean loss on (x, y)."""
    bnmean, bnvar = bn
    embcat = p["C"][x].view(x.shape[0], -1)
    hpreact = p["bngain"] * (embcat @ p["W1"] + p["b1"] - bnmean) * (bnvar + 1e-5) ** -0.5 + p["bnbias"]
    return F.cross_entropy(torch.tanh(hpreact) @ p["W2"] + p["b2"], y).item()


@torch.no_grad()
def sample(ds, p: dict, bn: tuple, g: torch.Generator, count: int = 20, max_len: int = 40) -> list[str]:
    """Names drawn from the calibrated network one character at a time, as the lecture samples them."""
    bnmean, bnvar = bn
    names = []
    for _ in range(count):
        out, context = [], [0] * ds.block_size
        while len(out) < max_len:
            embcat = p["C"][torch.tensor([context])].view(1, -1)
            hpreact = p["bngain"] * (embcat @ p["W1"] + p["b1"] - bnmean) * (bnvar + 1e-5) ** -0.5 + p["bnbias"]
            probs = F.softmax(torch.tanh(hpreact) @ p["W2"] + p["b2"], dim=1)
            ix = torch.multinomial(probs, num_samples=1, generator=g).item()
            context = context[1:] + [ix]
            out.append(ix)
            if ix == 0:
                break
        names.append("".join(ds.itos[i] for i in out).rstrip("."))
    return names


def evaluate(ds, variant: model.Variant, params: dict, steps_done: int, count: int = 20) -> dict:
    """After a full run: calibrate BatchNorm, train and val loss, `count` names sampled from the loop's generator."""
    shapes = {k: v.shape for k, v in training.init(ds, variant)[0].items()}
    if any(params[k].shape != shapes[k] for k in NAMES):
        return {"error": "the parameters your run sent back do not have the network's shapes"}
    if not all(bool(torch.isfinite(p).all()) for p in params.values()):
        return {"error": "the trained parameters hold NaN or inf: there is nothing to evaluate"}
    with model.single_thread():
        bn = calibrate(ds, params)
        out = {"train": split_loss(params, bn, ds.Xtr, ds.Ytr), "val": split_loss(params, bn, ds.Xdev, ds.Ydev)}
        _, g = replay(ds, variant, steps_done)  # sampling goes on drawing from the loop's one generator
        out["samples"] = sample(ds, params, bn, g, count)
    return out
