"""Exercise 4's follow-through run, in a child of its own: the student's block once, at step 0, given right inputs.

As in exercises 1-3 (grader/sandbox/statements.py), once the statements that finish a gradient have run, later
statements read its correct value, so a parameter's gradient that came out wrong only because it read a wrong
`dlogits` is judged on its own statements. The correct values come from the reference solution's formulas (no
autograd), one at a time, each only once the student's statements for it have run. The parent asks for this run
last, after every as-written run of the submission, and keeps only the answers and which lines raised.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from grader import model
from grader.exercises import EX1_NAMES
from grader.sandbox import guards, statements, wire
from grader.sandbox.child import collect, cpu_only
from grader.sandbox.running import follow_through
from grader.training.loop import INTERMEDIATES, NAMES, draw_batch, forward, init, lr_at, namespace

GRADED = tuple(name for name in EX1_NAMES if name in set(INTERMEDIATES) | set(NAMES))  # backprop order


def correct_gradients(p: dict, v: dict, Yb: torch.Tensor, Xb: torch.Tensor):
    """(name, gradient) in backprop order, each computed when asked for: the reference solution's formulas (and
    exercise 1's for a block that goes through bnraw, bnvar_inv and bnvar)."""
    n = Xb.shape[0]
    dlogits = F.softmax(v["logits"], 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    yield "logits", dlogits
    yield from model.manual_steps_from_logits(p, v, dlogits, Xb, fused=True)


def follow_in_child(request: dict, ds, ready=None) -> bytes:
    """The child's whole job: step 0's namespace as the loop builds it, the block in follow-through, the answers."""
    variant = model.Variant(**request["variant"])
    cpu_only()
    params, g = init(ds, variant)
    ix = draw_batch(ds, g, variant.batch_size)
    Xb, Yb = ds.Xtr[ix], ds.Ytr[ix]
    with torch.no_grad():
        values = forward(params, Xb, Yb)
    ns = dict(namespace(ds, variant, params), **values, i=0, lr=lr_at(0), Xb=Xb, Yb=Yb)
    own = {k: v.clone() for k, v in params.items()}, {k: v.clone() for k, v in values.items()}  # whatever the block does
    correct = statements.lazily(correct_gradients(*own, Yb.clone(), Xb.clone()))  # as far as a name, no further
    guards.install()  # grad mode off, backward() refused, as in the loop
    if ready is not None:
        ready()
    out = follow_through(request["code"], ns, GRADED, correct)
    tensors, described = collect({"d" + k: v for k, v in out["answers"].items()}, list(out["answers"]),
                                 request["limits"]["max_numel"])
    return wire.encode(tensors, {"values": described, "raised": out["raised"], "changed": out["changed"],
                                 "integrity": out.get("integrity", False), "syntax": out.get("syntax")})
