"""grader/submissions/names.py: forward tensors the student renamed, recognised by what their statement computes."""
from __future__ import annotations

import pytest

from grader.submissions import names
from grader.submissions.notebook import analyse

# the lecture's forward pass with every tensor renamed and most statements spelt another way
REWRITTEN = """
e = C[Xb]
ecat = e.view(e.shape[0], -1)
pre = torch.matmul(ecat, W1) + b1
mu = hprebn.sum(0, keepdim=True) / n
diff = hprebn - mu
diff2 = diff * diff
var = 1.0/(n-1)*diff2.sum(0, keepdim=True)
vinv = torch.rsqrt(var + 0.00001)
raw = diff * vinv
act = raw * bngain + bnbias
hid = act.tanh()
lg = hid.matmul(W2) + b2
mx = lg.max(dim=1, keepdim=True).values
nl = lg - mx
ct = torch.exp(nl)
cs = ct.sum(1, keepdim=True)
csi = 1/cs
pr = ct * csi
lp = torch.log(pr)
"""


def test_a_rewritten_forward_pass_is_recognised_statement_by_statement():
    aliases = names.forward_aliases([analyse(REWRITTEN)])
    assert aliases == {"e": "emb", "ecat": "embcat", "pre": "hprebn", "mu": "bnmeani", "diff": "bndiff", "diff2": "bndiff2",
                       "var": "bnvar", "vinv": "bnvar_inv", "raw": "bnraw", "act": "hpreact", "hid": "h", "lg": "logits",
                       "mx": "logit_maxes", "nl": "norm_logits", "ct": "counts", "cs": "counts_sum", "csi": "counts_sum_inv",
                       "pr": "probs", "lp": "logprobs"}


@pytest.mark.parametrize("code", [
    "x = y * z",  # the shape of bnraw, probs and bndiff2 alike, and nothing says which
    "x = torch.exp(y) + 1",  # no statement of the lecture
    "x = hprebn.sum(1, keepdim=True) / n",  # the other dimension: not the batch mean
    "x = logits.max(0, keepdim=True).values",
])
def test_a_statement_the_lecture_does_not_make_names_nothing(code):
    assert names.forward_aliases([analyse(code)]) == {}


def test_a_renamed_tensor_in_another_spelling_is_bound_for_the_exercise(grader, write):
    """`vinv = torch.rsqrt(bnvar + 1e-5)` is the lecture's bnvar_inv: exercise 3 written on `vinv` runs (it stopped with
    a NameError when only the lecture's own spelling was recognised) and scores full marks."""
    path = write("nb.py", "# %%\nvinv = torch.rsqrt(bnvar + 1e-5)\nbnraw = vinv * bndiff\nloss = F.cross_entropy(logits, Yb)\n"
                          "# %%\n# Exercise 3\ndhprebn = bngain*vinv/n * (n*dhpreact - dhpreact.sum(0) "
                          "- n/(n-1)*bnraw*(dhpreact*bnraw).sum(0))\n")
    ex = grader.grade([path]).exercise(3)
    assert not ex.error and ex.score == ex.max_score, (ex.error, [c.message for c in ex.checks])
    assert any("vinv is bnvar_inv" in note for note in ex.notes)
