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
from grader.sandbox import guards, wire
from grader.sandbox.child import collect, cpu_only
from grader.sandbox.running import follow_through
from grader.training.loop import INTERMEDIATES, NAMES, draw_batch, forward, init, lr_at, namespace

GRADED = tuple(name for name in EX1_NAMES if name in set(INTERMEDIATES) | set(NAMES))  # backprop order


def correct_gradients(p: dict, v: dict, Yb: torch.Tensor, n: int):
    """(name, gradient) in backprop order, each computed when asked for: the reference solution's formulas, and
    exercise 1's for a block that goes through bnraw, bnvar_inv and bnvar."""
    dlogits = F.softmax(v["logits"], 1)
    dlogits[range(n), Yb] -= 1
    dlogits /= n
    yield "logits", dlogits
    dh = dlogits @ p["W2"].T
    yield "h", dh
    yield "W2", v["h"].T @ dlogits
    yield "b2", dlogits.sum(0)
    dhpreact = (1.0 - v["h"] ** 2) * dh
    yield "hpreact", dhpreact
    yield "bngain", (v["bnraw"] * dhpreact).sum(0, keepdim=True)
    yield "bnbias", dhpreact.sum(0, keepdim=True)
    dbnraw = p["bngain"] * dhpreact
    yield "bnraw", dbnraw
    dbnvar_inv = ((v["hprebn"] - v["bnmean"]) * dbnraw).sum(0, keepdim=True)
    yield "bnvar_inv", dbnvar_inv
    yield "bnvar", (-0.5 * (v["bnvar"] + 1e-5) ** -1.5) * dbnvar_inv
    dhprebn = p["bngain"] * v["bnvar_inv"] / n * (n * dhpreact - dhpreact.sum(0)
                                                  - n / (n - 1) * v["bnraw"] * (dhpreact * v["bnraw"]).sum(0))
    yield "hprebn", dhprebn
    dembcat = dhprebn @ p["W1"].T
    yield "embcat", dembcat
    yield "W1", v["embcat"].T @ dhprebn
    yield "b1", dhprebn.sum(0)
    demb = dembcat.view(v["emb"].shape)
    yield "emb", demb
    yield "C", torch.zeros_like(p["C"]).index_add_(0, v["Xb"].view(-1), demb.view(-1, demb.shape[-1]))


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
    given = {**{k: v.clone() for k, v in params.items()}, "Xb": Xb.clone()}
    steps, known = correct_gradients(given, {**{k: v.clone() for k, v in values.items()}, "Xb": Xb.clone()},
                                     Yb.clone(), variant.batch_size), {}

    def correct(name: str):
        while name not in known:
            step = next(steps, None)
            if step is None:
                raise KeyError(name)
            known[step[0]] = step[1]
        return known[name].clone()

    guards.install()  # grad mode off, backward() refused, as in the loop
    if ready is not None:
        ready()
    out = follow_through(request["code"], ns, GRADED, correct)
    tensors, described = collect({"d" + k: v for k, v in out["answers"].items()}, list(out["answers"]),
                                 request["limits"]["max_numel"])
    return wire.encode(tensors, {"values": described, "raised": out["raised"], "changed": out["changed"],
                                 "integrity": out.get("integrity", False), "syntax": out.get("syntax")})
