"""The lecture's MLP at a fixed seed: parameters, the chunked forward pass, autograd's gradients.

Every random draw comes from one torch.Generator (the lecture draws bngain/bnbias from the
global RNG, which makes its notebook irreproducible; here they come from `g` right after b2).
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from grader.options import HIDDEN, PUBLIC, Variant  # noqa: F401 - re-exported: model.Variant, model.PUBLIC
PARAMETER_NAMES = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")
# the intermediates of the chunked forward pass, in forward order
FORWARD_NAMES = (
    "emb", "embcat", "hprebn", "bnmeani", "bndiff", "bndiff2", "bnvar", "bnvar_inv", "bnraw",
    "hpreact", "h", "logits", "logit_maxes", "norm_logits", "counts", "counts_sum",
    "counts_sum_inv", "probs", "logprobs",
)


@contextmanager
def single_thread():
    """Run torch on one thread, so that every process computes bit-identical forward passes."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def init_parameters(vocab_size: int, block_size: int, variant: Variant, g: torch.Generator) -> dict:
    """The lecture's initialisation (its scales), all drawn from `g`."""
    n_embd, n_hidden = variant.n_embd, variant.n_hidden
    C = torch.randn((vocab_size, n_embd), generator=g)
    # Layer 1
    W1 = torch.randn((n_embd * block_size, n_hidden), generator=g) * (5 / 3) / ((n_embd * block_size) ** 0.5)
    b1 = torch.randn(n_hidden, generator=g) * 0.1  # using b1 just for fun, it's useless because of BN
    # Layer 2
    W2 = torch.randn((n_hidden, vocab_size), generator=g) * 0.1
    b2 = torch.randn(vocab_size, generator=g) * 0.1
    # BatchNorm parameters
    bngain = torch.randn((1, n_hidden), generator=g) * 0.1 + 1.0
    bnbias = torch.randn((1, n_hidden), generator=g) * 0.1
    return dict(C=C, W1=W1, b1=b1, W2=W2, b2=b2, bngain=bngain, bnbias=bnbias)


def forward(p: dict, Xb: torch.Tensor, Yb: torch.Tensor) -> dict:
    """The lecture's chunked forward pass; returns every intermediate and `loss` by its lecture name."""
    n = Xb.shape[0]
    emb = p["C"][Xb]  # (n, block_size, n_embd)
    embcat = emb.view(emb.shape[0], -1)  # (n, block_size * n_embd)
    # Linear layer 1
    hprebn = embcat @ p["W1"] + p["b1"]  # (n, n_hidden)
    # BatchNorm layer
    bnmeani = 1 / n * hprebn.sum(0, keepdim=True)
    bndiff = hprebn - bnmeani
    bndiff2 = bndiff**2
    bnvar = 1 / (n - 1) * (bndiff2).sum(0, keepdim=True)  # Bessel's correction (dividing by n-1, not n)
    bnvar_inv = (bnvar + 1e-5) ** -0.5
    bnraw = bndiff * bnvar_inv
    hpreact = p["bngain"] * bnraw + p["bnbias"]
    # Non-linearity
    h = torch.tanh(hpreact)
    # Linear layer 2
    logits = h @ p["W2"] + p["b2"]  # (n, vocab_size)
    # cross entropy loss (same as F.cross_entropy(logits, Yb))
    logit_maxes = logits.max(1, keepdim=True).values
    norm_logits = logits - logit_maxes  # subtract max for numerical stability
    counts = norm_logits.exp()
    counts_sum = counts.sum(1, keepdims=True)
    counts_sum_inv = counts_sum**-1  # (1.0 / counts_sum) would not be bit exact
    probs = counts * counts_sum_inv
    logprobs = probs.log()
    loss = -logprobs[range(n), Yb].mean()
    out = {name: value for name, value in locals().items() if name in FORWARD_NAMES}
    out["loss"] = loss
    return out


@dataclass
class Setup:
    """Parameters, the minibatch and the generator after drawing them, for one variant."""

    variant: Variant
    params: dict
    ix: torch.Tensor
    Xb: torch.Tensor
    Yb: torch.Tensor
    g: torch.Generator


def setup(ds, variant: Variant = PUBLIC) -> Setup:
    """Draw the parameters then the minibatch from one generator seeded with `variant.seed`."""
    g = torch.Generator().manual_seed(variant.seed)
    params = init_parameters(ds.vocab_size, ds.block_size, variant, g)
    ix = torch.randint(0, ds.Xtr.shape[0], (variant.batch_size,), generator=g)
    return Setup(variant, params, ix, ds.Xtr[ix], ds.Ytr[ix], g)


def forward_values(ds, variant: Variant = PUBLIC) -> tuple[Setup, dict]:
    """The forward pass without a graph: what a student's code is given."""
    s = setup(ds, variant)
    with torch.no_grad(), single_thread():
        values = forward(s.params, s.Xb, s.Yb)
    return s, values


def autograd_gradients(s: Setup, dtype: torch.dtype = torch.float32) -> dict:
    """Autograd's gradient of the loss for every parameter and intermediate, computed in `dtype`."""
    params = {k: v.detach().to(dtype).requires_grad_() for k, v in s.params.items()}
    with torch.enable_grad(), single_thread():
        values = forward(params, s.Xb, s.Yb)
        for t in values.values():
            if t.requires_grad and t is not values["loss"]:
                t.retain_grad()
        values["loss"].backward()
    grads = {name: t.grad for name, t in values.items() if name != "loss"}
    grads.update({name: t.grad for name, t in params.items()})
    return grads


def manual_dhpreact(s: Setup, values: dict) -> torch.Tensor:
    """dhpreact by hand (no autograd): what exercise 3 is given, so it does not depend on exercise 1."""
    n = s.Xb.shape[0]
    dlogits = F.softmax(values["logits"], 1)
    dlogits[range(n), s.Yb] -= 1
    dlogits /= n
    dh = dlogits @ s.params["W2"].T
    return (1.0 - values["h"] ** 2) * dh


def manual_gradient_steps(s: Setup, values: dict):
    """Every exercise-1 gradient by hand (the reference solution's formulas, no autograd), in backprop order:
    (name, gradient) one at a time, each computed only when asked for. A follow-through run advances it as
    far as the gradient it needs and no further, so a gradient's correct value exists in a child only once
    the student's own statements for it ran."""
    v, p, n = values, s.params, s.Xb.shape[0]
    dlogprobs = torch.zeros_like(v["logprobs"])
    dlogprobs[range(n), s.Yb] = -1.0 / n
    yield "logprobs", dlogprobs
    dprobs = (1.0 / v["probs"]) * dlogprobs
    yield "probs", dprobs
    dcounts_sum_inv = (v["counts"] * dprobs).sum(1, keepdim=True)
    yield "counts_sum_inv", dcounts_sum_inv
    dcounts_sum = (-v["counts_sum"] ** -2) * dcounts_sum_inv
    yield "counts_sum", dcounts_sum
    dcounts = v["counts_sum_inv"] * dprobs + torch.ones_like(v["counts"]) * dcounts_sum
    yield "counts", dcounts
    dnorm_logits = v["counts"] * dcounts
    yield "norm_logits", dnorm_logits
    dlogit_maxes = (-dnorm_logits).sum(1, keepdim=True)
    yield "logit_maxes", dlogit_maxes
    dlogits = dnorm_logits + F.one_hot(v["logits"].max(1).indices, num_classes=v["logits"].shape[1]) * dlogit_maxes
    yield "logits", dlogits
    yield from manual_steps_from_logits(p, v, dlogits, s.Xb)


def manual_steps_from_logits(p: dict, v: dict, dlogits: torch.Tensor, Xb: torch.Tensor, fused: bool = False):
    """manual_gradient_steps from dlogits on: exercise 1's batchnorm one by one, or with `fused` exercise 3's
    formula for dhprebn in one go (exercise 4's forward pass has no bndiff, bndiff2 or bnmeani)."""
    n = Xb.shape[0]
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
    bndiff = v["hprebn"] - v["bnmean"] if fused else v["bndiff"]
    dbnvar_inv = (bndiff * dbnraw).sum(0, keepdim=True)
    yield "bnvar_inv", dbnvar_inv
    dbnvar = (-0.5 * (v["bnvar"] + 1e-5) ** -1.5) * dbnvar_inv
    yield "bnvar", dbnvar
    if fused:
        dhprebn = p["bngain"] * v["bnvar_inv"] / n * (n * dhpreact - dhpreact.sum(0)
                                                      - n / (n - 1) * v["bnraw"] * (dhpreact * v["bnraw"]).sum(0))
    else:
        dbndiff2 = (1.0 / (n - 1)) * torch.ones_like(v["bndiff2"]) * dbnvar
        yield "bndiff2", dbndiff2
        dbndiff = v["bnvar_inv"] * dbnraw + (2 * v["bndiff"]) * dbndiff2
        yield "bndiff", dbndiff
        dbnmeani = (-dbndiff).sum(0, keepdim=True)
        yield "bnmeani", dbnmeani
        dhprebn = dbndiff + 1.0 / n * (torch.ones_like(v["hprebn"]) * dbnmeani)
    yield "hprebn", dhprebn
    dembcat = dhprebn @ p["W1"].T
    yield "embcat", dembcat
    yield "W1", v["embcat"].T @ dhprebn
    yield "b1", dhprebn.sum(0)
    demb = dembcat.view(v["emb"].shape)
    yield "emb", demb
    yield "C", torch.zeros_like(p["C"]).index_add_(0, Xb.view(-1), demb.view(-1, demb.shape[-1]))
