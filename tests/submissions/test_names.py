"""grader/submissions/names.py: forward tensors the student renamed, recognised by what their statement computes."""
from __future__ import annotations

import re

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


def test_the_students_own_cmp_calls_pair_their_gradient_names_with_the_lectures():
    code = ("cmp('logprobs', g_lp, logprobs)\ncmp('probs', g_p, probs)\ncmp('h', dhpreact, h)\n"  # the last: a slip
            "cmp('x', g_twice, counts)\ncmp('y', g_twice, norm_logits)\n"  # one name for two gradients: neither
            "cmp('W2', g_w, W2)\ncmp('W2 again', g_w2, W2)\n"  # two names for one gradient: neither
            "cmp('b1', dt=g_b1, t=b1)\n")
    assert names.cmp_pairs([analyse(code)], {}) == {"g_lp": "dlogprobs", "g_p": "dprobs", "g_b1": "db1"}
    assert names.cmp_pairs([analyse("cmp('emb', g_e, e)")], {"e": "emb"}) == {"g_e": "demb"}  # a renamed forward tensor


def test_exercise_1_under_the_students_own_names_is_graded_through_their_cmp_calls(grader, write):
    """Every gradient named `g_<name>` and checked with `cmp('<name>', g_<name>, <name>)`: graded as the lecture's."""
    from grader.exercises import EX1_NAMES
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "solutions" / "ex1_backprop_one_by_one.py").read_text()
    for name in EX1_NAMES:
        text = re.sub(rf"\bd{name}\b", f"g_{name}", text)
    checks = "".join(f"cmp('{name}', g_{name}, {name})\n" for name in EX1_NAMES)
    ex = grader.grade([write("mine.py", "# Exercise 1\n" + text + checks)], exercise=1).exercise(1)
    assert ex.score == 26, [(c.name, c.message) for c in ex.checks if not c.passed]
    assert any(n.startswith("your names for 26 gradients are graded as the lecture's") for n in ex.notes)
    ex = grader.grade([write("nocmp.py", "# Exercise 1\n" + text)], exercise=1).exercise(1)
    assert ex.score == 0  # nothing pairs them: not guessed
    wrong = text.replace("g_W2 = h.T @ g_logits", "g_W2 = 2 * h.T @ g_logits")  # a mistake is placed on the student's line
    assert wrong != text
    ex = grader.grade([write("wrong.py", "# Exercise 1\n" + wrong + checks)], exercise=1).exercise(1)
    w2 = next(c for c in ex.checks if c.name == "W2")
    assert ex.score == 25 and w2.status == "fail" and w2.code == "g_W2 = 2 * h.T @ g_logits", (w2.location, w2.code)
