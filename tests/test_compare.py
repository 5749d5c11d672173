"""compare.compare on the real forward pass: the lecture's cmp fields, the verdict, the messages."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from grader import compare, model
from grader.sandbox import wire
from grader.results import ERROR, FAIL, MISSING, PASS


@pytest.fixture(scope="module")
def lecture(dataset):
    """The public variant: forward values, autograd's float32 and float64 gradients, n."""
    s, values = model.forward_values(dataset, model.PUBLIC)
    return s, values, model.autograd_gradients(s), model.autograd_gradients(s, torch.float64)


def answer(value, name="x", assigned=True) -> compare.Answer:
    """What the grader receives for `value`, through the child's describe and the parent's answers."""
    if not assigned:
        return wire.answers({}, {"values": {}}, [name])[name]
    tensor, info = wire.describe(value, max_numel=10**6)
    return wire.answers({name: tensor} if tensor is not None else {}, {"values": {name: info}}, [name])[name]


def grade(lecture, name, value, assigned=True):
    s, _, g32, g64 = lecture
    return compare.compare(name, answer(value, name, assigned), g32[name], g64[name], s.Xb.shape[0])


# --- the lecture's cmp fields -----------------------------------------------------------------

def test_exact(lecture):
    g32 = lecture[2]
    result = grade(lecture, "logprobs", g32["logprobs"].clone())
    assert (result.status, result.exact, result.approximate, result.maxdiff) == (PASS, True, True, 0.0)
    assert result.message == "exact"
    assert result.shape == result.expected_shape == [32, 27]


def test_approximate_like_the_lecture(lecture):
    """Exercise 2's formula is not bit-exact with autograd's chunked pass: approximate, small maxdiff."""
    s, values, g32, _ = lecture
    n = s.Xb.shape[0]
    dlogits = F.softmax(values["logits"], 1)
    dlogits[range(n), s.Yb] -= 1
    dlogits /= n
    result = grade(lecture, "logits", dlogits)
    assert result.status == PASS and result.approximate
    assert result.maxdiff == pytest.approx((dlogits - g32["logits"]).abs().max().item())
    assert result.maxdiff < 1e-7
    if not result.exact:
        assert result.message.startswith("approximate (maxdiff ")


def test_one_ulp_off_is_approximate_not_exact(lecture):
    g32 = lecture[2]
    t = g32["W2"].clone()
    t[3, 5] = torch.nextafter(t[3, 5], torch.tensor(float("inf")))
    result = grade(lecture, "W2", t)
    assert result.status == PASS and not result.exact and result.approximate
    assert result.maxdiff == pytest.approx((t - g32["W2"]).abs().max().item())


def test_round_off_near_zero_passes_where_allclose_fails(lecture):
    """dlogit_maxes is mathematically 0 (~1e-9 in float32): 3e-8 of round-off is far above
    allclose's atol=1e-8 yet well within a small multiple of autograd's own float32 error."""
    _, _, g32, g64 = lecture
    t = g32["logit_maxes"] + 3e-8
    assert not torch.allclose(t, g32["logit_maxes"])
    assert 3e-8 < compare.tolerance(g32["logit_maxes"], g64["logit_maxes"])
    result = grade(lecture, "logit_maxes", t)
    assert result.status == PASS and result.approximate is False
    assert "within float32 round-off" in result.message


def test_correct_float32_orders_pass(lecture):
    """Other summation orders than autograd's (a python loop, index_add_, a one_hot matmul) pass."""
    s, values, g32, _ = lecture
    C, Xb = s.params["C"], s.Xb
    demb = g32["emb"]
    loop = torch.zeros_like(C)
    for k in range(Xb.shape[0]):
        for j in range(Xb.shape[1]):
            loop[Xb[k, j]] += demb[k, j]
    index_add = torch.zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, C.shape[1]))
    one_hot = F.one_hot(Xb.view(-1), C.shape[0]).float().T @ demb.view(-1, C.shape[1])
    for dC in (loop, index_add, one_hot):
        assert grade(lecture, "C", dC).status == PASS
    dhprebn = g32["hprebn"]
    outer = torch.zeros_like(s.params["W1"])
    for i in range(Xb.shape[0]):
        outer += torch.outer(values["embcat"][i], dhprebn[i])
    assert grade(lecture, "W1", outer).status == PASS
    assert grade(lecture, "b1", torch.ones(Xb.shape[0]) @ dhprebn).status == PASS


def test_tolerance_is_a_multiple_of_autograd_error_or_one_ulp():
    ref64 = torch.tensor([[1.0, -2.0], [0.5, 0.0]], dtype=torch.float64)
    exact32 = ref64.float()
    floor = compare.TOLERANCE_FACTOR * compare.EPS32 * 2.0
    assert compare.tolerance(exact32, ref64) == pytest.approx(floor)
    noisy32 = (ref64 + 1e-3).float()
    assert compare.tolerance(noisy32, ref64) == pytest.approx(compare.TOLERANCE_FACTOR * 1e-3, rel=1e-4)


# --- shapes -------------------------------------------------------------------------------------

def test_broadcastable_shape_fails_and_names_both_shapes(lecture):
    """dbndiff2 without its torch.ones_like: a (1, 64) answer for the (32, 64) bndiff2. Every row of
    the right answer is dbnvar / (n-1), so torch.allclose broadcasts and says True; the grader fails it."""
    _, _, g32, _ = lecture
    row = (1.0 / 31) * g32["bnvar"]
    assert row.shape == (1, 64) and torch.allclose(row, g32["bndiff2"])
    result = grade(lecture, "bndiff2", row)
    assert result.status == FAIL
    assert result.message.startswith("dbndiff2 has shape (1, 64) but bndiff2 has shape (32, 64)")
    assert "allclose broadcasts" in result.message
    assert result.shape == [1, 64] and result.expected_shape == [32, 64]


def test_dropped_keepdim_with_the_right_values_passes_with_a_note(lecture):
    """(64,) for (1, 64): only size-1 dimensions differ and it broadcasts back, as the lecture uses it
    (`bngain.data += -lr * dbngain` keeps bngain (1, 64); `dhprebn += ... * dbnmeani` is (32, 64))."""
    g32 = lecture[2]
    for name in ("bngain", "bnmeani", "bnvar"):
        result = grade(lecture, name, g32[name].view(-1))
        assert result.status == PASS, result.message
        assert "(64,)" in result.message and "(1, 64)" in result.message and "keepdim" in result.message


def test_a_shape_that_would_not_fit_where_the_lecture_uses_it_fails(lecture):
    g32 = lecture[2]
    result = grade(lecture, "b1", g32["b1"].view(1, -1))  # b1.data += -lr * db1 would make b1 (1, 64)
    assert result.status == FAIL and "(1, 64)" in result.message and "(64,)" in result.message
    result = grade(lecture, "bngain", g32["bngain"].view(-1, 1))  # (64, 1) broadcasts to (64, 64)
    assert result.status == FAIL
    result = grade(lecture, "bnmeani", 2 * g32["bnmeani"].view(-1))  # the shape counts, the values do not
    assert result.status == FAIL and "keepdim" in result.message and "factor of 2" in result.message


def test_a_transposed_answer_is_named(lecture):
    g32 = lecture[2]
    result = grade(lecture, "W2", g32["W2"].T.contiguous())
    assert result.status == FAIL and "transposed" in result.message


def test_non_broadcastable_shape_fails_without_the_allclose_note(lecture):
    g32 = lecture[2]
    result = grade(lecture, "W1", g32["W1"].T.contiguous())
    assert result.status == FAIL
    assert "(64, 30)" in result.message and "(30, 64)" in result.message
    assert "allclose" not in result.message


# --- missing, not a tensor, not finite, wrong dtype ---------------------------------------------

def test_none_is_missing(lecture):
    result = grade(lecture, "probs", None)
    assert result.status == MISSING and result.message == "dprobs is None: not attempted yet"


def test_never_assigned_is_missing(lecture):
    result = grade(lecture, "probs", None, assigned=False)
    assert result.status == MISSING and result.message == "dprobs was never assigned"


def test_python_list_is_an_error(lecture):
    g32 = lecture[2]
    result = grade(lecture, "b2", g32["b2"].tolist())
    assert result.status == ERROR
    assert "Python list" in result.message and "(27,)" in result.message and "torch" in result.message


def test_numpy_array_is_an_error(lecture):
    g32 = lecture[2]
    result = grade(lecture, "b2", g32["b2"].numpy().copy())
    assert result.status == ERROR
    assert "numpy.ndarray" in result.message and "torch.from_numpy" in result.message


def test_plain_float_is_an_error(lecture):
    result = grade(lecture, "bnvar", 0.5)
    assert result.status == ERROR
    assert "plain number (float)" in result.message and "(1, 64)" in result.message


def test_other_object_is_an_error(lecture):
    result = grade(lecture, "bnvar", {"a": 1})
    assert result.status == ERROR and "dict" in result.message


def test_unreadable_and_too_large_carry_their_detail(lecture):
    s, _, g32, g64 = lecture
    for kind in ("unreadable", "too_large"):
        result = compare.compare("h", compare.Answer(kind, detail="has 10 elements, more than the limit"),
                                 g32["h"], g64["h"], 32)
        assert result.status == ERROR and result.message == "dh: has 10 elements, more than the limit"


@pytest.mark.parametrize("bad, words", [(float("nan"), ["1 NaN", "first at [2, 7]"]),
                                        (float("inf"), ["1 inf", "first at [2, 7]"])])
def test_nan_and_inf_fail(lecture, bad, words):
    g32 = lecture[2]
    t = g32["counts"].clone()
    t[2, 7] = bad
    result = grade(lecture, "counts", t)
    assert result.status == FAIL
    for word in words:
        assert word in result.message
    assert "division by zero" in result.message


def test_nan_and_inf_together(lecture):
    g32 = lecture[2]
    t = g32["counts"].clone()
    t[0, 0], t[1, 1], t[1, 2] = float("nan"), float("inf"), -float("inf")
    result = grade(lecture, "counts", t)
    assert result.status == FAIL and "1 NaN and 2 inf" in result.message


@pytest.mark.parametrize("dtype", [torch.float64, torch.int64])
def test_wrong_dtype_is_an_error(lecture, dtype):
    g32 = lecture[2]
    result = grade(lecture, "h", g32["h"].to(dtype))
    assert result.status == ERROR
    assert f"dtype {dtype}" in result.message and "torch.float32" in result.message
    assert ("integer tensors cannot hold a gradient" in result.message) == (dtype == torch.int64)


# --- wrong values and the factor hints ----------------------------------------------------------

@pytest.mark.parametrize("factor, hint", [
    (32.0, "a missing 1/n"),
    (1 / 32, "an extra 1/n"),
    (-1.0, "the sign is flipped"),
    (31 / 32, "Bessel's correction"),
    (32 / 31, "n-1 where n belongs"),
    (2.0, "a factor of 2"),
    (0.5, "a factor of 1/2"),
    (3.0, "a constant factor of 3"),
])
def test_factor_hints(lecture, factor, hint):
    g32 = lecture[2]
    result = grade(lecture, "bnvar_inv", g32["bnvar_inv"] * factor)
    assert result.status == FAIL
    assert hint in result.message
    assert "of 64 elements are off" in result.message


def test_real_missing_one_over_n_is_named(lecture):
    """Exercise 2 without `dlogits /= n`."""
    s, values, _, _ = lecture
    dlogits = F.softmax(values["logits"], 1)
    dlogits[range(32), s.Yb] -= 1
    result = grade(lecture, "logits", dlogits)
    assert result.status == FAIL and "a missing 1/n" in result.message


def test_real_bessel_mistake_is_named(lecture):
    """dbndiff2 with 1/n instead of 1/(n-1): a factor (n-1)/n."""
    s, values, g32, _ = lecture
    wrong = (1.0 / 32) * torch.ones_like(values["bndiff2"]) * g32["bnvar"]
    result = grade(lecture, "bndiff2", wrong)
    assert result.status == FAIL and "Bessel's correction" in result.message


def test_no_hint_when_not_a_constant_factor(lecture):
    g32 = lecture[2]
    noise = torch.randn(g32["h"].shape, generator=torch.Generator().manual_seed(0))
    result = grade(lecture, "h", g32["h"] + 0.1 * noise * g32["h"].abs().max())
    assert result.status == FAIL
    assert "off by" not in result.message
    assert "differs from autograd by up to" in result.message


def test_no_hint_without_n(lecture):
    _, _, g32, g64 = lecture
    result = compare.compare("bnvar_inv", compare.Answer("tensor", g32["bnvar_inv"] * 32), g32["bnvar_inv"],
                             g64["bnvar_inv"], None)
    assert result.status == FAIL and "constant factor of 32" in result.message


def test_fmt_shape():
    assert compare.fmt_shape(torch.Size([64])) == "(64,)"
    assert compare.fmt_shape((1, 64)) == "(1, 64)"
    assert compare.fmt_shape(()) == "()"


def test_numpy_is_really_numpy():
    """The numpy test above relies on wire naming the type numpy.ndarray."""
    _, info = wire.describe(np.zeros(3), 10)
    assert info == {"kind": "other", "type": "numpy.ndarray"}


@pytest.mark.parametrize("seed", range(5))
def test_broadcast_agrees_with_torch_broadcast_shapes(seed):
    rng = np.random.default_rng(seed)
    for _ in range(400):
        a, b = (tuple(int(s) for s in rng.choice([1, 1, 2, 3, 32, 64], size=rng.integers(0, 4))) for _ in range(2))
        try:
            want = tuple(torch.broadcast_shapes(a, b))
        except RuntimeError:
            want = None
        assert compare.broadcast(a, b) == want, (a, b)
