"""The known one-line mistakes, as data: each a wrong form of one gradient, computed from the correct upstream values.

`form(V, G)` gets the forward pass V and autograd's gradients G (float64, grader/diagnosis/context.py) and returns
what the mistaken line computes when everything it reads is right; an answer equal to it is diagnosed with
`sentence`. Generic tests (a constant factor, a missing branch, a transpose ...) are in generic.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class WrongForm:
    """One wrong way to compute d<grad>: `form(V, G)` is its value, `sentence` tells the student what to fix."""

    id: str
    grad: str  # the tensor whose gradient it is (lecture name, without the d)
    form: Callable
    sentence: str


def _onehot(V, index):
    return F.one_hot(index, V.logits.shape[1]).double()


def _softmax_dlogits(p, V):
    """(p - one_hot(Yb)) / n for a softmax-like p: exercise 2's shape of answer."""
    return (p - _onehot(V, V.Yb)) / V.n


def _bn_terms(V, G):
    """Exercise 3's dhprebn as its three terms: the direct path, the bnmeani path, the bnvar path."""
    g, x, n = G.hpreact, V.bnraw, V.n
    scale = V.bngain * V.bnvar_inv
    return scale * g, -scale / n * g.sum(0, keepdim=True), -scale / (n - 1) * x * (g * x).sum(0, keepdim=True)


def _dC(V, demb, index):
    """C's gradient accumulated from rows of demb (n*block_size, n_embd) at `index`."""
    return torch.zeros_like(V.C).index_add_(0, index, demb)


def _dC_assigned(V, G):
    """dC[Xb] = demb: every repeated character keeps only its last example's row."""
    dC = torch.zeros_like(V.C)
    dC[V.Xb.reshape(-1)] = G.emb.reshape(-1, V.C.shape[1])
    return dC


W = WrongForm
CATALOGUE: tuple[WrongForm, ...] = (
    # cross-entropy, one by one
    W("dlogprobs-everywhere", "logprobs", lambda V, G: torch.full_like(V.logprobs, -1.0 / V.n),
      "dlogprobs is -1/n everywhere: the loss only picks logprobs[range(n), Yb], so every other entry of dlogprobs is 0"),
    W("dlogprobs-mean-over-all", "logprobs", lambda V, G: G.logprobs / V.logprobs.shape[1],
      "dlogprobs is divided by n * vocab_size: the loss is a mean over the n examples only, so the target entries get -1/n"),
    W("dprobs-times-probs", "probs", lambda V, G: G.logprobs * V.probs,
      "dprobs multiplies dlogprobs by probs: the local derivative of log(probs) is 1/probs, so divide by probs"),
    W("dprobs-no-chain", "probs", lambda V, G: 1.0 / V.probs,
      "dprobs is only the local derivative 1/probs: chain it, multiply by dlogprobs"),
    W("dcsi-no-chain", "counts_sum_inv", lambda V, G: V.counts.sum(1, keepdim=True),
      "dcounts_sum_inv sums counts alone: chain the rule, sum counts * dprobs over dim 1"),
    W("dcsi-sum-csi", "counts_sum_inv", lambda V, G: (V.counts_sum_inv * G.probs).sum(1, keepdim=True),
      "dcounts_sum_inv sums counts_sum_inv * dprobs: in probs = counts * counts_sum_inv the local derivative "
      "with respect to counts_sum_inv is counts"),
    W("dcounts-sum-no-chain", "counts_sum", lambda V, G: -V.counts_sum**-2,
      "dcounts_sum is only the local derivative -counts_sum**-2: multiply it by dcounts_sum_inv"),
    W("dcounts-sum-inv-power", "counts_sum", lambda V, G: -V.counts_sum**-1 * G.counts_sum_inv,
      "dcounts_sum uses -counts_sum**-1: the derivative of counts_sum**-1 is -counts_sum**-2"),
    W("dcounts-times-sum", "counts", lambda V, G: V.counts_sum * G.probs + G.counts_sum,
      "dcounts multiplies dprobs by counts_sum: in probs = counts * counts_sum_inv the local derivative is counts_sum_inv"),
    W("dnorm-logits-times-norm-logits", "norm_logits", lambda V, G: V.norm_logits * G.counts,
      "dnorm_logits multiplies by norm_logits: the derivative of exp is exp itself, so multiply dcounts by counts"),
    W("dlogit-maxes-dcounts", "logit_maxes", lambda V, G: (-G.counts).sum(1, keepdim=True),
      "dlogit_maxes sums -dcounts: logit_maxes feeds norm_logits, so sum -dnorm_logits over dim 1"),
    # cross-entropy in one go (exercise 2, and the block of exercise 4)
    W("dlogits-no-minus-one", "logits", lambda V, G: F.softmax(V.logits, 1) / V.n,
      "dlogits has no -1 at the targets: subtract 1 at dlogits[range(n), Yb] (the correct character of each row) "
      "before dividing by n"),
    W("dlogits-minus-one-every-row", "logits",
      lambda V, G: (F.softmax(V.logits, 1) - _onehot(V, V.Yb).amax(0, keepdim=True)) / V.n,
      "dlogits subtracts 1 in every row of the Yb columns (dlogits[:, Yb] -= 1): subtract it once per row, "
      "at dlogits[range(n), Yb]"),
    W("dlogits-softmax-dim0", "logits", lambda V, G: _softmax_dlogits(F.softmax(V.logits, 0), V),
      "dlogits takes the softmax over dim 0 (the batch): the probabilities are normalised over each row, F.softmax(logits, 1)"),
    W("dlogits-one-hot-plus", "logits", lambda V, G: _softmax_dlogits(F.softmax(V.logits, 1) + 2 * _onehot(V, V.Yb), V),
      "dlogits adds 1 at the targets: the gradient is probs minus the one-hot of Yb"),
    W("dlogits-from-logprobs", "logits", lambda V, G: _softmax_dlogits(V.logprobs, V),
      "dlogits starts from logprobs: the gradient is (probs - one_hot(Yb)) / n, with probs = softmax(logits, 1)"),
    # second layer and tanh
    W("dW2-from-hpreact", "W2", lambda V, G: V.hpreact.T @ G.logits,
      "dW2 multiplies by hpreact: logits = h @ W2 + b2 reads h, the tanh output, so dW2 = h.T @ dlogits"),
    W("dh-times-h", "h", lambda V, G: G.logits @ V.W2.T * V.h,
      "dh multiplies by h: dh is only dlogits @ W2.T (the tanh derivative belongs in dhpreact)"),
    W("dhpreact-times-h", "hpreact", lambda V, G: V.h * G.h,
      "dhpreact multiplies dh by h: the derivative of tanh is 1 - h**2, not h"),
    W("dhpreact-from-hpreact", "hpreact", lambda V, G: (1.0 - V.hpreact**2) * G.h,
      "dhpreact uses 1 - hpreact**2: the derivative of tanh is 1 - tanh(x)**2 = 1 - h**2, with h the output"),
    W("dhpreact-one-minus-h-squared", "hpreact", lambda V, G: (1.0 - V.h) ** 2 * G.h,
      "dhpreact uses (1 - h)**2: the derivative of tanh is 1 - h**2"),
    W("dhpreact-one-minus-h", "hpreact", lambda V, G: (1.0 - V.h) * G.h,
      "dhpreact uses 1 - h: the derivative of tanh is 1 - h**2"),
    # batchnorm, one by one
    W("dbngain-bndiff", "bngain", lambda V, G: (V.bndiff * G.hpreact).sum(0, keepdim=True),
      "dbngain multiplies by bndiff: hpreact = bngain * bnraw + bnbias, so dbngain sums bnraw * dhpreact"),
    W("dbngain-hpreact", "bngain", lambda V, G: (V.hpreact * G.hpreact).sum(0, keepdim=True),
      "dbngain multiplies by hpreact: hpreact = bngain * bnraw + bnbias, so dbngain sums bnraw * dhpreact"),
    W("dbnraw-bnraw", "bnraw", lambda V, G: V.bnraw * G.hpreact,
      "dbnraw multiplies by bnraw: in hpreact = bngain * bnraw + bnbias the local derivative with respect to bnraw is bngain"),
    W("dbnvar-inv-bnraw", "bnvar_inv", lambda V, G: (V.bnraw * G.bnraw).sum(0, keepdim=True),
      "dbnvar_inv multiplies by bnraw: bnraw = bndiff * bnvar_inv, so dbnvar_inv sums bndiff * dbnraw"),
    W("dbnvar-power", "bnvar", lambda V, G: -0.5 * (V.bnvar + 1e-5) ** -0.5 * G.bnvar_inv,
      "dbnvar uses the power -0.5: the derivative of (bnvar + 1e-5)**-0.5 is -0.5 * (bnvar + 1e-5)**-1.5"),
    W("dbnvar-power-1.5-positive", "bnvar", lambda V, G: -0.5 * (V.bnvar + 1e-5) ** 1.5 * G.bnvar_inv,
      "dbnvar uses the power +1.5: the derivative of (bnvar + 1e-5)**-0.5 is -0.5 * (bnvar + 1e-5)**-1.5"),
    W("dbndiff2-not-broadcast", "bndiff2", lambda V, G: G.bnvar / (V.n - 1),
      "dbndiff2 has bnvar's shape (1, n_hidden): every row of bndiff2 went into the sum, so broadcast it "
      "to bndiff2's shape (torch.ones_like(bndiff2) * ...)"),
    W("dbndiff-no-two", "bndiff", lambda V, G: G.bnraw * V.bnvar_inv + V.bndiff * G.bndiff2,
      "dbndiff's bndiff2 branch misses the 2: the derivative of bndiff**2 is 2 * bndiff"),
    W("dbndiff-bndiff2-as-bndiff", "bndiff", lambda V, G: G.bnraw * V.bnvar_inv + 2 * V.bndiff2 * G.bndiff2,
      "dbndiff's bndiff2 branch multiplies by bndiff2: the derivative of bndiff**2 is 2 * bndiff"),
    W("dhprebn-bnmeani-no-1/n", "hprebn", lambda V, G: G.bndiff + G.bnmeani,
      "dhprebn's bnmeani branch misses the 1/n: bnmeani = 1/n * hprebn.sum(0), so each row gets dbnmeani / n"),
    # batchnorm in one go (exercise 3, and the block of exercise 4)
    W("bn-missing-mean-term", "hprebn", lambda V, G: _bn_terms(V, G)[0] + _bn_terms(V, G)[2],
      "dhprebn misses the bnmeani path: hprebn also reaches the loss through its mean bnmeani (one by one: the "
      "branch through bnmeani; in one go: the - dhpreact.sum(0) term)"),
    W("bn-missing-var-term", "hprebn", lambda V, G: _bn_terms(V, G)[0] + _bn_terms(V, G)[1],
      "dhprebn misses the bnvar path (the bnraw * (dhpreact * bnraw).sum(0) term): hprebn also reaches the loss "
      "through the variance"),
    W("bn-var-term-sign", "hprebn", lambda V, G: _bn_terms(V, G)[0] + _bn_terms(V, G)[1] - _bn_terms(V, G)[2],
      "dhprebn adds the bnvar term where it should subtract it: check the sign of the bnraw * (dhpreact * bnraw).sum(0) term"),
    W("bn-mean-term-sign", "hprebn", lambda V, G: _bn_terms(V, G)[0] - _bn_terms(V, G)[1] + _bn_terms(V, G)[2],
      "dhprebn adds the dhpreact.sum(0) term where it should subtract it: check its sign"),
    W("bn-n-for-n-1", "hprebn", lambda V, G: sum(_bn_terms(V, G)[:2]) + _bn_terms(V, G)[2] * (V.n - 1) / V.n,
      "dhprebn divides the bnvar term by n where the forward pass divides by n - 1 (Bessel's correction): "
      "use n/(n-1) * bnraw * (dhpreact * bnraw).sum(0)"),
    W("bn-n-1-for-n", "hprebn", lambda V, G: sum(_bn_terms(V, G)[:2]) + _bn_terms(V, G)[2] * V.n / (V.n - 1),
      "dhprebn's bnvar term has n/(n-1) twice: bnvar divides by n - 1 once"),
    W("bn-var-term-wrong-dim", "hprebn", lambda V, G: sum(_bn_terms(V, G)[:2]) + _bn_terms(V, G)[2] / (
        G.hpreact * V.bnraw).sum(0, keepdim=True) * (G.hpreact * V.bnraw).sum(1, keepdim=True),
      "dhprebn sums dhpreact * bnraw over dim 1: batchnorm's statistics are over the batch, so sum over dim 0"),
    W("bn-mean-term-wrong-dim", "hprebn", lambda V, G: _bn_terms(V, G)[0] + _bn_terms(V, G)[2] - V.bngain * V.bnvar_inv
      / V.n * G.hpreact.sum(1, keepdim=True),
      "dhprebn sums dhpreact over dim 1: batchnorm's mean is over the batch, so sum over dim 0"),
    W("bn-given-bnraw-only", "hprebn", lambda V, G: V.bngain * V.bnvar_inv * G.hpreact,
      "dhprebn is only bngain * bnvar_inv * dhpreact: bnmeani and bnvar depend on hprebn too, so both of their "
      "paths add a term"),
    # first layer and embedding
    W("dW1-from-dhpreact", "W1", lambda V, G: V.embcat.T @ G.hpreact,
      "dW1 uses dhpreact: W1 feeds hprebn, before batchnorm, so dW1 = embcat.T @ dhprebn"),
    W("db1-from-dhpreact", "b1", lambda V, G: G.hpreact.sum(0),
      "db1 sums dhpreact: b1 feeds hprebn, before batchnorm, so db1 = dhprebn.sum(0) (which is ~0: batchnorm removes the mean)"),
    W("dembcat-from-dhpreact", "embcat", lambda V, G: G.hpreact @ V.W1.T,
      "dembcat uses dhpreact: embcat feeds hprebn, before batchnorm, so dembcat = dhprebn @ W1.T"),
    W("demb-view-order", "emb", lambda V, G: G.embcat.view(V.n, V.emb.shape[2], V.emb.shape[1]).transpose(1, 2),
      "demb reshapes dembcat in the wrong order: embcat = emb.view(n, -1), so demb = dembcat.view(emb.shape)"),
    W("dC-assigned", "C", _dC_assigned,
      "dC[Xb] = ... assigns: a character that appears several times in Xb keeps only one example's gradient; "
      "accumulate with += in a loop, or index_add_"),
    W("dC-xb-transposed", "C", lambda V, G: _dC(V, G.emb.reshape(-1, V.C.shape[1]), V.Xb.T.reshape(-1)),
      "dC pairs demb's rows with Xb.T: demb.view(-1, n_embd) is in Xb.view(-1)'s order (row by row)"),
    W("dC-first-position", "C", lambda V, G: _dC(V, G.embcat[:, :V.C.shape[1]], V.Xb[:, 0]),
      "dC uses the first character of each context only: every position of Xb looked up C, so accumulate all of them"),
    W("dC-misses-last-example", "C", lambda V, G: _dC(V, G.emb[:-1].reshape(-1, V.C.shape[1]), V.Xb[:-1].reshape(-1)),
      "dC misses the last example: the loop must run over all n rows of Xb (range(Xb.shape[0]))"),
    W("dC-misses-last-position", "C", lambda V, G: _dC(V, G.emb[:, :-1].reshape(-1, V.C.shape[1]), V.Xb[:, :-1].reshape(-1)),
      "dC misses the last position of each context: loop over all block_size columns of Xb"),
)


def for_gradient(name: str) -> list[WrongForm]:
    """The catalogue's wrong forms of d<name>."""
    return [w for w in CATALOGUE if w.grad == name]
