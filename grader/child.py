"""What runs inside a student's child process: the lecture's namespace, the student's code, the answers.

Nothing here sees autograd's gradients: the child gets the forward pass without a graph and the
hand-computed `dhpreact` of exercise 3, runs the code, and describes what each d<name> holds.
"""
from __future__ import annotations

import ast
import builtins
import traceback

import torch
import torch.nn.functional as F

from . import guards, model, wire
from .exercises import get as get_exercise

STUDENT_FILE = "<submission>"


def _cmp(s, dt, t):
    """The lecture's cmp, replaced: grading happens outside the student's process."""
    return None


def _display(*objs, **kwargs):
    """IPython's display, for code pasted from a notebook: prints instead."""
    print(*objs)


def _is_cuda(device) -> bool:
    return (isinstance(device, str) and device.startswith("cuda")) or (isinstance(device, torch.device) and device.type == "cuda")


def cpu_only() -> None:
    """Make `.cuda()` and `.to("cuda")` from a Colab notebook harmless: the grader runs on the CPU."""
    to = torch.Tensor.to

    def to_cpu(self, *args, **kwargs):
        args = tuple("cpu" if _is_cuda(a) else a for a in args)
        if _is_cuda(kwargs.get("device")):
            kwargs["device"] = "cpu"
        return to(self, *args, **kwargs)

    torch.Tensor.to = to_cpu
    torch.Tensor.cuda = lambda self, *args, **kwargs: self


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


def student_error(exc: BaseException, code: str, ns: dict) -> dict:
    """An exception in the student's code as data: type, message, the student's own line number."""
    lineno = None
    if isinstance(exc, SyntaxError) and exc.filename == STUDENT_FILE:
        lineno = exc.lineno
    for frame, line in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == STUDENT_FILE:
            lineno = line
    text = str(exc).strip().splitlines()
    message = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
    if isinstance(exc, NameError) and getattr(exc, "name", None) and exc.name not in ns:
        message = f"uses `{exc.name}`, which the lecture's forward pass does not define ({type(exc).__name__})"
    if isinstance(exc, SystemExit):
        message = f"called exit ({exc.code!r}) before finishing: code after it did not run"
    if isinstance(exc, guards.IntegrityError):
        message = str(exc)
    return {"type": type(exc).__name__, "message": message, "lineno": lineno,
            "integrity": isinstance(exc, guards.IntegrityError)}


def run_code(code: str, ns: dict) -> tuple[dict | None, list[dict]]:
    """Execute the student's code in `ns` statement by statement.

    Returns (error, warnings). A failing statement that assigns nothing (a `cmp(...)` or `print`
    call of the student's own) is a warning and the code goes on; any other failure stops it and
    is the error. A call of autograd is flagged but does not stop the rest from being graded.
    """
    try:
        tree = ast.parse(code, STUDENT_FILE)
    except SyntaxError as exc:
        return student_error(exc, code, ns), []
    warnings, integrity = [], None
    for stmt in tree.body:
        try:
            exec(compile(ast.Module([stmt], type_ignores=[]), STUDENT_FILE, "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 - the student's failure is data, whatever it is
            err = student_error(exc, code, ns)
            if err["integrity"]:
                integrity = integrity or err
            elif isinstance(stmt, ast.Expr) and isinstance(exc, Exception):
                err["lineno"] = stmt.lineno  # the call the student wrote, not the inside of their helper
                warnings.append(err)
            else:
                return err, warnings
    return integrity, warnings


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


def grade_in_child(request: dict, ds, ready=None) -> bytes:
    """The child's whole job for exercises 1-3: namespace, run, collect, encode."""
    variant = model.Variant(**request["variant"])
    s, values = forward_values(ds, variant)
    ns = exercise_namespace(ds, s, values, request["exercise"])
    cpu_only()
    for name in (request.get("options") or {}).get("checkers", ()):
        if isinstance(name, str) and name.isidentifier():
            ns[name] = _cmp  # the student's own cmp-like helpers: grading happens outside
    guards.install()
    if ready is not None:
        ready()  # the worker has confined the run: the student's code may start
    error, warnings = run_code(request["code"], ns)
    guards.uninstall()
    graded = get_exercise(request["exercise"]).graded
    tensors, described = collect(ns, graded, request["limits"]["max_numel"])
    return wire.encode(tensors, {"values": described, "error": error, "warnings": warnings})
