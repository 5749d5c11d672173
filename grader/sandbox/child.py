"""What runs inside a student's child process: the lecture's namespace, the student's code, the answers.

Nothing here sees autograd's gradients: the child gets the forward pass without a graph and the
hand-computed `dhpreact` of exercise 3, runs the code, and describes what each d<name> holds.
"""
from __future__ import annotations

import builtins
import dataclasses
import functools
import gc
import os
import random
import signal
import sys

import torch
import torch.nn.functional as F

from grader.sandbox import fsview, guards, progress, reach as reach_lines, statements, wire
from grader.sandbox.running import (follow_through, run_cells, run_code,  # noqa: F401 - re-exported
                                    student_error)
from grader import model
from grader.exercises import get as get_exercise

STUDENT_FILE = progress.STUDENT_FILE


def _cmp(s, dt, t):
    """The lecture's cmp, replaced: grading happens outside the student's process."""
    return None


def _display(*objs, **kwargs):
    """IPython's display, for code pasted from a notebook: prints instead."""
    print(*objs)


def _is_cuda(device) -> bool:
    return (isinstance(device, str) and device.startswith("cuda")) or (isinstance(device, torch.device) and device.type == "cuda")


def cpu_only() -> None:
    """Make `.cuda()` and `.to("cuda")` from a Colab notebook harmless: the grader runs on the CPU (once per process)."""
    if getattr(torch.Tensor.cuda, "_bpn_cpu_only", False):
        return
    to = torch.Tensor.to

    def to_cpu(self, *args, **kwargs):
        args = tuple("cpu" if _is_cuda(a) else a for a in args)
        if _is_cuda(kwargs.get("device")):
            kwargs["device"] = "cpu"
        return to(self, *args, **kwargs)

    def cuda(self, *args, **kwargs):
        return self

    cuda._bpn_cpu_only = True
    torch.Tensor.to = to_cpu
    torch.Tensor.cuda = cuda


def lecture_namespace(ds, s: model.Setup, values: dict) -> dict:
    """Every name the lecture notebook defines before the exercise cells, at this variant."""
    v = s.variant
    ns = {"__name__": "__main__", "__builtins__": builtins, "torch": torch, "F": F, "cmp": _cmp,
          "display": _display, "device": "cpu"}
    ns.update(ds.names())
    ns.update(n_embd=v.n_embd, n_hidden=v.n_hidden, g=s.g, batch_size=v.batch_size, n=v.batch_size,
              ix=s.ix, Xb=s.Xb, Yb=s.Yb)
    ns.update(s.params)
    ns["parameters"] = [s.params[k] for k in model.PARAMETER_NAMES]
    ns.update(values)
    ns["loss_fast"] = F.cross_entropy(values["logits"], s.Yb)  # exercise 2's forward cell
    return ns


def exercise_namespace(ds, s: model.Setup, values: dict, exercise: int) -> dict:
    """The lecture namespace plus what this exercise is given."""
    ns = lecture_namespace(ds, s, values)
    if "hpreact" in get_exercise(exercise).given:
        ns["dhpreact"] = model.manual_dhpreact(s, values)
    for name in get_exercise(exercise).graded:
        ns.pop("d" + name, None)
    return ns


def collect(ns: dict, names, max_numel: int) -> tuple[dict, dict]:
    """Describe every d<name> the exercise grades: plain tensors to send, and what each value was."""
    tensors, described = {}, {}
    for name in names:
        key = "d" + name
        if key not in ns:
            described[name] = {"kind": "missing"}
            continue
        try:
            tensor, info = wire.describe(ns[key], max_numel)
            if tensor is not None:
                tensors[name] = wire.plain(tensor)
        except Exception as exc:  # a hostile object: describe it, do not trust it
            tensor, info = None, {"kind": "unreadable", "detail": f"could not be read ({type(exc).__name__})"}
        described[name] = info
    return tensors, described


_forward: dict = {}  # (id(dataset), variant) -> (dataset, setup, forward values)


def forward_values(ds, variant: model.Variant) -> tuple[model.Setup, dict]:
    """The forward pass a run is given, computed once per variant in the worker (before it forks).

    Only what every exercise is given is cached: never a gradient (exercise 3's dhpreact is
    computed in the child, so the worker never holds exercise 1's answer). A child changing
    these tensors changes its own copy-on-write copy only.
    """
    hit = _forward.get((id(ds), variant))
    if hit is None or hit[0] is not ds:
        hit = _forward[(id(ds), variant)] = (ds, *model.forward_values(ds, variant))
    return hit[1], hit[2]


class Session:
    """Runs of exercises 1-3 of one submission, one after another in one child (grader/sandbox/sessions.py).

    What a run is given is fresh each time: a new namespace, copies of the forward pass's tensors,
    the random generators' first state, an empty working directory, the grader's stdout, signals
    and environment. The guards are installed once; after each run `run` says whether the child
    is still fit for another (the guards intact, no thread or given tensor left changed), and
    the worker ends the session when it is not.
    """

    def __init__(self, workdir: str, own_uid: bool, n_words: int):
        self.workdir, self.own_uid, self.runs, self.homeless = workdir, own_uid, 0, False
        cpu_only()
        guards.install()
        self.rng, self.py_rng = torch.get_rng_state(), lecture_random_state(n_words)
        self.threads = _threads()
        self.signals = {sig: signal.getsignal(sig) for sig in signal.valid_signals()
                        if sig not in (signal.SIGKILL, signal.SIGSTOP)}
        self.stdout, self.stderr, self.environ, self.environ_map = sys.stdout, sys.stderr, dict(os.environ), os.environ
        self.builtins = dict(vars(builtins))
        self.dtype, self.recursion = torch.get_default_dtype(), sys.getrecursionlimit()
        self.num_threads = torch.get_num_threads()
        self.compiled: dict = {}
        self.shared: dict = {}  # name -> (tensor, version): the dataset's tensors, given uncopied
        random.setstate(self.py_rng)

    def run(self, request: dict, ds, ready=None) -> tuple[bytes | None, bool]:
        """One run: (the answer's frame, or None when it is certain to exceed the answer size limit; whether the
        child may run another)."""
        if self.runs:
            self._clear_files()
        self.runs += 1
        variant = model.Variant(**request["variant"])
        s, values = forward_values(ds, variant)
        ns = exercise_namespace(ds, _fresh(s), {k: _copy(v) for k, v in values.items()}, request["exercise"])
        for name in ("Xtr", "Ytr", "Xdev", "Ydev", "Xte", "Yte"):
            self.shared[name] = (ns[name], ns[name]._version, ns[name].data_ptr())
        for name in (request.get("options") or {}).get("checkers", ()):
            if isinstance(name, str) and name.isidentifier():
                ns[name] = _cmp  # the student's own cmp-like helpers: grading happens outside
        options = request.get("options") or {}
        graded = get_exercise(request["exercise"]).graded
        if ready is not None:
            ready()  # the worker has confined the run: the student's code may start
        if options.get("mode") == "follow_through":
            return self._follow_through(request, ds, ns, variant, graded), self._fit()  # only follow-through runs follow
        cells = [c for c in options.get("cells") or [1] if isinstance(c, int)]
        reach = reach_lines.Reach(options.get("reach"))
        reach.install(ns)
        error, warnings, ran = run_cells(request["code"], ns, self.compiled, graded, cells, tuple(sorted(reach.lines)))
        self._reset()  # before the grader's own code below: a student's sys.setrecursionlimit(50) is not its problem
        tensors, described = collect(ns, graded, request["limits"]["max_numel"])
        if sum(t.numel() * t.element_size() for t in tensors.values()) > request["limits"]["frame_bytes"]:
            return None, False  # certain to exceed the answer size limit: not encoded (grader/sandbox/childloop.py)
        frame = wire.encode(tensors, {"values": described, "error": error, "warnings": warnings,
                                      "errors": ran["errors"], "changed": ran["changed"],
                                      "reached": reach.report(request["code"])})
        del ns, tensors
        gc.collect()  # what the student's functions kept alive (their globals are the namespace)
        return frame, self._fit()

    def _follow_through(self, request: dict, ds, ns: dict, variant, graded) -> bytes:
        """The follow-through run: the student's answers given right inputs (never shown, only compared)."""
        s, values = forward_values(ds, variant)
        correct = statements.lazily(model.manual_gradient_steps(s, values))  # as far as a name, no further
        cells = [c for c in (request.get("options") or {}).get("cells") or [1] if isinstance(c, int)]
        out = follow_through(request["code"], ns, graded, correct, self.compiled, cells)
        self._reset()
        answers = {"d" + name: value for name, value in out["answers"].items()}
        tensors, described = collect(answers, [n for n in graded if n in out["answers"]], request["limits"]["max_numel"])
        meta = {"values": described, "raised": out["raised"], "changed": out["changed"],
                "integrity": out.get("integrity", False), "syntax": out.get("syntax")}
        return wire.encode(tensors, meta)

    def _fit(self) -> bool:
        """The child may run another run: guards in place, no thread left running, the dataset untouched."""
        if self.homeless or not guards.intact() or _threads() != self.threads:
            return False
        return all(t._version == version and t.data_ptr() == ptr for t, version, ptr in self.shared.values())

    def _reset(self) -> None:
        """Undo what the run may have changed in the process (its files stay until the next run)."""
        signal.alarm(0)
        for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
            signal.setitimer(timer, 0)
        for sig, handler in self.signals.items():
            try:
                signal.signal(sig, handler)
            except (OSError, ValueError, TypeError):
                pass
        sys.settrace(None)
        sys.setprofile(None)
        sys.setrecursionlimit(self.recursion)
        sys.stdout, sys.stderr = self.stdout, self.stderr
        os.environ = self.environ_map  # the run may have rebound the name
        if dict(os.environ) != self.environ:  # a putenv per key otherwise: a quarter of a millisecond a run
            os.environ.clear()
            os.environ.update(self.environ)
        names = vars(builtins)
        names.clear()
        names.update(self.builtins)
        torch.set_default_dtype(self.dtype)
        if torch.get_num_threads() != self.num_threads:
            torch.set_num_threads(self.num_threads)  # threads it asked for would start in the next run
        torch.set_rng_state(self.rng)
        random.setstate(self.py_rng)
        progress.reset()
        try:
            os.makedirs(self.workdir, mode=0o700, exist_ok=True)  # a run may have deleted it
            os.chdir(self.workdir)
        except OSError:
            self.homeless = True  # no working directory for another run: the session ends

    def _clear_files(self) -> None:
        """Remove the files earlier runs left: the working directory and, with a uid of its own, its /tmp files."""
        fsview.clear(self.workdir)
        if self.own_uid:
            for place in fsview.SHARED_TMP:
                fsview.clear(place, uid=os.getuid(), keep=self.workdir)


@functools.lru_cache(maxsize=4)
def lecture_random_state(n_words: int):
    """Python's `random` as the lecture leaves it (seed 42, then the words shuffled); the worker makes it before forking.

    A forked child's `random` is reseeded from the OS: without this, code that draws from it
    would not give the same result twice.
    """
    rng = random.Random(42)
    rng.shuffle([None] * n_words)
    return rng.getstate()


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        import threading

        return threading.active_count()


def _copy(value):
    """A run's own copy of a given value (a tensor it may change in place)."""
    return value.clone() if isinstance(value, torch.Tensor) else value


def _fresh(s: model.Setup) -> model.Setup:
    """The setup with the run's own copies of the parameters, indices and generator."""
    g = torch.Generator().set_state(s.g.get_state())
    params = {k: v.clone() for k, v in s.params.items()}
    return dataclasses.replace(s, g=g, params=params, ix=s.ix.clone(), Xb=s.Xb.clone(), Yb=s.Yb.clone())
