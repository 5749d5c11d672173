"""Exercise 4's training loop: the lecture's forward pass and schedule, and the child's run of it.

The child trains on the student's gradients only and never computes autograd's. At the checkpoint
steps, and at the step where something goes wrong, it keeps the parameters, the batch indices and
the student's gradients; it sends them with the loss curve and its timings in one frame.
"""
from __future__ import annotations

import ast
import builtins
import math
import signal
import time
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F

from grader.sandbox import guards, progress, reach as reach_lines, tasks, wire
from grader.training import timing
from grader import compare, model
from grader.sandbox.child import STUDENT_FILE, _cmp, _display, cpu_only, student_error
from grader.exercises import EX4_NAMES as NAMES

N_HIDDEN = 200  # the lecture's exercise-4 network
MAX_STEPS = 200_000
DECAY_STEP = 100_000  # lr 0.1 before, 0.01 from here on
LOSS_STEPS_CAP = 20_000  # per-step losses sent back; the curve covers every step in block means
REPORT_EVERY = 0.25  # seconds between progress records
HIDDEN_STEPS = 11  # hidden variants are checked at steps 0 and 10
# the block's intermediate gradients sent at checkpoints (if the block defines them), in backward order:
# the parent names the first wrong one (exercise 1's dlogits, dh ... or the fused ones of exercises 2 and 3)
INTERMEDIATES = ("logits", "h", "hpreact", "bnraw", "bnvar_inv", "bnvar", "hprebn", "embcat", "emb")
SAFETY_FACTOR, SAFETY_SECONDS = 50.0, 3.0  # quick check's limit: 50x the reference's steps, measured here, + 3 s
MISSING = object()


def lr_at(i: int) -> float:
    """The lecture's step learning-rate decay."""
    return 0.1 if i < DECAY_STEP else 0.01


def variant_for(variant: model.Variant) -> model.Variant:
    """Exercise 4's network for a variant: 200 hidden units where exercises 1-3 use the default 64."""
    return replace(variant, n_hidden=N_HIDDEN) if variant.n_hidden == model.PUBLIC.n_hidden else variant


def init(ds, variant: model.Variant) -> tuple[dict, torch.Generator]:
    """The lecture's parameters, drawn from one generator that then draws every minibatch."""
    g = torch.Generator().manual_seed(variant.seed)
    return model.init_parameters(ds.vocab_size, ds.block_size, variant, g), g


def draw_batch(ds, g: torch.Generator, batch_size: int) -> torch.Tensor:
    """The loop's `ix`: one minibatch of training-row indices."""
    return torch.randint(0, ds.Xtr.shape[0], (batch_size,), generator=g)


def forward(p: dict, Xb: torch.Tensor, Yb: torch.Tensor) -> dict:
    """The forward pass of the lecture's exercise-4 loop; every intermediate by its lecture name."""
    emb = p["C"][Xb]  # embed the characters into vectors
    embcat = emb.view(emb.shape[0], -1)  # concatenate the vectors
    hprebn = embcat @ p["W1"] + p["b1"]  # hidden layer pre-activation
    bnmean = hprebn.mean(0, keepdim=True)
    bnvar = hprebn.var(0, keepdim=True, unbiased=True)
    bnvar_inv = (bnvar + 1e-5) ** -0.5
    bnraw = (hprebn - bnmean) * bnvar_inv
    hpreact = p["bngain"] * bnraw + p["bnbias"]
    h = torch.tanh(hpreact)  # hidden layer
    logits = h @ p["W2"] + p["b2"]  # output layer
    loss = F.cross_entropy(logits, Yb)
    return dict(emb=emb, embcat=embcat, hprebn=hprebn, bnmean=bnmean, bnvar=bnvar, bnvar_inv=bnvar_inv,
                bnraw=bnraw, hpreact=hpreact, h=h, logits=logits, loss=loss)


def update(params: list, grads: list, lr: float) -> None:
    """`p.data += -lr * grad` for every parameter (bit-identical, in two fused calls; a gradient that fits its parameter
    but for size-1 dimensions, compare.fits, is added as that line broadcasts it: (200,) for bngain's (1, 200))."""
    torch._foreach_add_(params, torch._foreach_mul([g.reshape(p.shape) for g, p in zip(grads, params)], -lr))


class TimeUp(BaseException):
    """The run's time budget ran out while the student's code was running."""


class Clock:
    """The child's time budget: a soft deadline before the worker's hard kill, checked between steps."""

    def __init__(self, seconds: float):
        self.start = time.perf_counter()
        self.budget = seconds - min(3.0, 0.2 * seconds)  # leave time to send the frame
        self.up = False
        self.in_student = False
        signal.signal(signal.SIGALRM, self._ring)
        signal.setitimer(signal.ITIMER_REAL, max(self.budget, 0.01))

    def _ring(self, signum, frame) -> None:
        self.up = True
        if self.in_student:  # one step that never ends: interrupt it
            raise TimeUp()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def limit(self, seconds: float) -> None:
        """Bring the budget forward to `seconds` from the start (a safety limit tighter than the run's)."""
        if seconds < self.budget:
            self.budget = seconds
            signal.setitimer(signal.ITIMER_REAL, max(self.budget - self.elapsed(), 0.01))


class Block:
    """The student's backward block, compiled once, run statement by statement every step (as child.run_code)."""

    def __init__(self, code: str, reach=None):
        self.code, self.error, self.statements = code, None, []
        self.reach = reach_lines.Reach(reach)  # records which statically flagged lines ran
        try:
            tree = reach_lines.instrument(ast.parse(code, STUDENT_FILE), self.reach.lines)
            for stmt in tree.body:
                unit = compile(ast.Module([stmt], type_ignores=[]), STUDENT_FILE, "exec")
                self.statements.append((stmt.lineno, isinstance(stmt, ast.Expr), unit))
        except SyntaxError as exc:
            self.error = student_error(exc, code, {})
        self.warnings: dict[int, dict] = {}
        self.integrity: dict | None = None

    def run(self, ns: dict) -> dict | None:
        """One step's run; returns the error that stopped it (a failing call that assigns nothing is a warning)."""
        for lineno, is_call, unit in self.statements:
            try:
                exec(unit, ns)
            except TimeUp:
                raise
            except BaseException as exc:  # noqa: BLE001 - the student's failure is data, whatever it is
                err = student_error(exc, self.code, ns)
                if err["integrity"]:
                    self.integrity = self.integrity or err
                elif is_call and isinstance(exc, Exception):
                    self.warnings.setdefault(lineno, {**err, "lineno": lineno})
                else:
                    return err
        return None


def namespace(ds, variant: model.Variant, params: dict) -> dict:
    """What the block sees every step besides the step's own values (the names of the lecture's loop)."""
    ns = {"__name__": "__main__", "__builtins__": builtins, "torch": torch, "F": F, "cmp": _cmp, "display": _display,
          "device": "cpu", "vocab_size": ds.vocab_size, "block_size": ds.block_size, "n_embd": variant.n_embd,
          "n_hidden": variant.n_hidden, "batch_size": variant.batch_size, "n": variant.batch_size,
          "max_steps": MAX_STEPS}
    ns.update(params)
    ns["parameters"] = [params[k] for k in NAMES]
    return ns


def gradients(ns: dict) -> tuple[list, str]:
    """The seven gradients the block left (`grads`, or dC ... dbnbias), and a note when `grads` was not usable."""
    named = [ns.get("d" + name, MISSING) for name in NAMES]
    listed = ns.get("grads", MISSING)
    if listed is MISSING:
        return named, ""
    if not isinstance(listed, (list, tuple)) or len(listed) != len(NAMES):
        return named, f"grads is not a list of the {len(NAMES)} gradients [dC, dW1, db1, dW2, db2, dbngain, dbnbias]; graded the names instead"
    return [d if g is None and d is not MISSING and d is not None else g for g, d in zip(listed, named)], ""


def invalid(grads: list, params: list) -> bool:
    """True unless every gradient is a float32 tensor that `p.data += -lr * grad` takes without changing p's shape."""
    return not all(isinstance(g, torch.Tensor) and compare.fits(tuple(g.shape), tuple(p.shape)) and g.dtype == p.dtype
                   and not g.is_complex() for g, p in zip(grads, params))


def nonfinite(grads: list) -> list[str]:
    """The gradients holding NaN or inf (a cheap sum first, the exact test only when it is not finite)."""
    if math.isfinite(sum(float(g.sum()) for g in grads)):
        return []
    return ["d" + name for name, g in zip(NAMES, grads) if not bool(torch.isfinite(g).all())]


@dataclass
class Record:
    """What the child measured: losses, checkpoints, timings and why it stopped."""

    tensors: dict = field(default_factory=dict)
    checkpoints: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    done: int = 0  # steps whose update was applied
    backward_seconds: float = 0.0
    stop: str = ""  # "", "time", "user", "error", "invalid", "nonfinite", "diverged", "changed"
    detail: str = ""
    error: dict | None = None
    notes: list = field(default_factory=list)

    def keep(self, i: int, ix, params: list, grads: list, loss: float, max_numel: int, ns: dict) -> None:
        """Keep checkpoint `i`: parameters before its update, its batch, the student's gradients and intermediates."""
        k = len(self.checkpoints)
        values, inter = {}, {}
        for name, p in zip(NAMES, params):
            self.tensors[f"ckpt{k}.param.{name}"] = wire.plain(p)
        for name, g in zip(NAMES, grads):
            if g is MISSING:
                values[name] = {"kind": "missing"}
            else:
                values[name] = self._describe(g, f"ckpt{k}.grad.{name}", max_numel)
        for name in INTERMEDIATES:
            value = ns.get("d" + name)
            if isinstance(value, torch.Tensor):  # only what the block defined; anything else is not reported
                inter[name] = self._describe(value, f"ckpt{k}.inter.{name}", max_numel)
        self.tensors[f"ckpt{k}.ix"] = wire.plain(ix)
        self.checkpoints.append({"step": i, "loss": loss, "values": values, "intermediates": inter})

    def _describe(self, value, key: str, max_numel: int) -> dict:
        try:
            tensor, info = wire.describe(value, max_numel)
            if tensor is not None:
                self.tensors[key] = wire.plain(tensor)
            return info
        except Exception as exc:  # a hostile object: describe it, do not trust it
            return {"kind": "unreadable", "detail": f"could not be read ({type(exc).__name__})"}

    def curve(self, block: int) -> torch.Tensor:
        """The lecture's lossi (log10 of the loss) averaged per `block` steps; a last partial block included."""
        lossi = torch.tensor(self.losses, dtype=torch.float64).log10()
        whole = len(lossi) // block * block
        means = lossi[:whole].view(-1, block).mean(1)
        return torch.cat([means, lossi[whole:].mean().view(1)]) if whole < len(lossi) else means


def train_in_child(request: dict, ds, ready=None) -> bytes:
    """The child's whole job for exercise 4: run the loop on the student's block, send what it measured."""
    opts, lim = request["options"], request["limits"]
    variant = model.Variant(**request["variant"])
    cpu_only()
    steps, block = int(opts["steps"]), int(opts.get("block", 100))
    wanted = {int(s) for s in opts.get("checkpoints", ())}
    clock = Clock(float(lim["seconds"]))
    params, g = init(ds, variant)
    plist = [params[k] for k in NAMES]
    student, rec = Block(request["code"], opts.get("reach")), Record()
    base = namespace(ds, variant, params)
    student.reach.install(base)
    rec.error = student.error
    if rec.error:
        rec.stop = "error"
    guards.install()  # for the whole run: grad mode off, backward() refused
    reference, ref_ms = Block(opts["reference"]) if opts.get("reference") else None, 0.0
    if reference is not None:  # the reference's speed in this process, now: the quick check's safety limit
        fresh, decoy_forward = timing.decoy(ds, variant, init, draw_batch, forward, namespace)
        ref_ms = timing.reference_step_ms(reference, fresh, decoy_forward)
        if not opts.get("full"):
            clock.limit(SAFETY_SECONDS + SAFETY_FACTOR * steps * ref_ms / 1e3)
    if ready is not None:
        ready()  # the worker has confined the run: the student's code may start
    last_report = 0.0
    for i in range(steps if not rec.stop else 0):
        if clock.up or clock.elapsed() > clock.budget:
            rec.stop, rec.detail = "time", f"time limit of {round(clock.budget, 1):g} s"
            break
        if progress.stop_requested():
            rec.stop = "user"
            break
        ix = draw_batch(ds, g, variant.batch_size)
        Xb, Yb = ds.Xtr[ix], ds.Ytr[ix]
        values = forward(params, Xb, Yb)
        loss = values["loss"].item()
        rec.losses.append(loss)
        if not math.isfinite(loss):
            rec.stop, rec.detail = "diverged", f"the loss is {loss} at step {i}"
            break
        ns = dict(base, **values, i=i, lr=lr_at(i), Xb=Xb, Yb=Yb)
        versions = [p._version for p in plist]
        before = [wire.plain(p) for p in plist] if i in wanted else None  # what the block's gradients are of
        t0 = time.perf_counter()
        clock.in_student = True
        try:
            error = student.run(ns)
        except TimeUp as exc:
            rec.stop, rec.detail = "time", f"time limit of {round(clock.budget, 1):g} s"
            if i:  # the budget ran out midway through a step: that step is dropped, not graded
                rec.losses.pop()
                break
            error = student_error(exc, student.code, ns)
            error["message"] = f"the first step of your backward block did not finish within the time limit of {round(clock.budget, 1):g} s"
        finally:
            clock.in_student = False
        if i:
            rec.backward_seconds += time.perf_counter() - t0
        grads, note = gradients(ns)
        if note and note not in rec.notes:
            rec.notes.append(note)
        changed = [name for name, p, v in zip(NAMES, plist, versions) if p._version != v]
        bad = invalid(grads, plist)
        bad_values = [] if bad or error else nonfinite(grads)
        if error:
            rec.stop, rec.error = rec.stop or "error", error
        elif changed:
            rec.stop, rec.detail = "changed", ", ".join(changed)
            rec.error = {"type": "ChangedParameter", "lineno": None, "integrity": False,
                         "message": f"your code changed {rec.detail} in place at step {i}: the backward block must only "
                                    "compute gradients (the loop updates the parameters)"}
        elif bad:
            rec.stop = "invalid"
        elif bad_values:
            rec.stop, rec.detail = "nonfinite", ", ".join(bad_values)
        if before is not None or (rec.stop and not changed):  # unchanged, the parameters are still those of step i
            rec.keep(i, ix, before or plist, grads, loss, int(lim["max_numel"]), ns)
        if rec.stop:
            rec.detail = rec.detail or f"step {i}"
            break
        update(plist, grads, lr_at(i))
        rec.done += 1
        now = clock.elapsed()
        if now - last_report >= REPORT_EVERY:
            last_report = now
            recent = rec.losses[-100:]
            progress.report(step=i + 1, total=steps, loss=round(sum(recent) / len(recent), 4))
    rec.tensors.update({f"final.param.{name}": wire.plain(p) for name, p in zip(NAMES, plist)})
    pairs = []
    if reference is not None and not rec.stop and rec.done == steps and steps > 1:
        kept = dict(student.warnings), student.integrity  # the decoy's runs tell the student nothing
        try:
            pairs = timing.interleaved(student, reference, fresh, clock)
        except TimeUp:
            pass
        student.warnings, student.integrity = kept
    signal.setitimer(signal.ITIMER_REAL, 0)
    rec.tensors["loss"] = torch.tensor(rec.losses[:LOSS_STEPS_CAP], dtype=torch.float32)
    if rec.losses:
        rec.tensors["lossi"] = rec.curve(block).float()
    meta = {"steps": steps, "steps_done": rec.done, "block": block, "stop": rec.stop, "detail": rec.detail,
            "error": rec.error or student.integrity, "warnings": list(student.warnings.values()), "notes": rec.notes,
            "reached": student.reach.report(student.code),
            "checkpoints": rec.checkpoints, "seconds": round(clock.elapsed(), 4),
            "backward_ms": round(1e3 * rec.backward_seconds / max(len(rec.losses) - 1, 1), 4),
            "reference_step_ms": round(ref_ms, 4), "limit_seconds": round(clock.budget, 3),
            "pairs": [[round(a, 4), round(b, 4)] for a, b in pairs]}
    return wire.encode(rec.tensors, meta)


def run_in_child(request: dict, ds, ready=None) -> bytes:
    """Exercise 4 in the child: the loop, or the follow-through run (grader/training/follow.py) when asked."""
    if (request.get("options") or {}).get("mode") == "follow_through":
        from grader.training.follow import follow_in_child  # imported in the worker, before it forks (CHILD_TASKS)

        return follow_in_child(request, ds, ready)
    return train_in_child(request, ds, ready)


tasks.register(4, run_in_child)  # the sandbox's child runs exercise 4 through its task registry
