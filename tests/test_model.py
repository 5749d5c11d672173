"""The fixed-seed forward pass: reproducible, the lecture's numbers, autograd's gradients."""
from __future__ import annotations

import torch

from grader import model
from grader.exercises import EX1_NAMES

LOSS_AT_FIXED_SEED = 3.5571470260620117  # documented in the README


def test_loss_at_the_fixed_seed(dataset):
    _, values = model.forward_values(dataset)
    assert values["loss"].item() == LOSS_AT_FIXED_SEED


def test_every_draw_comes_from_one_generator(dataset):
    torch.manual_seed(0)
    a, _ = model.forward_values(dataset)
    torch.manual_seed(12345)  # the global RNG must not matter (the lecture's bngain/bnbias did use it)
    b, _ = model.forward_values(dataset)
    for name in model.PARAMETER_NAMES:
        assert torch.equal(a.params[name], b.params[name])
    assert torch.equal(a.ix, b.ix)


def test_no_grad_forward_is_bit_identical_to_the_graph_forward(dataset):
    s, values = model.forward_values(dataset)
    params = {k: v.clone().requires_grad_() for k, v in s.params.items()}
    with model.single_thread():
        graph = model.forward(params, s.Xb, s.Yb)
    for name, t in values.items():
        assert not t.requires_grad and t.grad is None
        assert torch.equal(t, graph[name].detach()), name


def test_shapes_follow_the_variant(dataset):
    s, values = model.forward_values(dataset, model.Variant(batch_size=17, n_hidden=48))
    assert tuple(values["hprebn"].shape) == (17, 48) and tuple(values["bnmeani"].shape) == (1, 48)
    assert tuple(s.Xb.shape) == (17, 3)


def test_autograd_gradients_cover_exercise_one(dataset):
    s = model.setup(dataset)
    g32, g64 = model.autograd_gradients(s), model.autograd_gradients(s, torch.float64)
    assert set(EX1_NAMES) <= set(g32)
    for name in EX1_NAMES:
        assert g32[name].dtype == torch.float32 and g64[name].dtype == torch.float64
        assert torch.allclose(g32[name].double(), g64[name], atol=1e-6)


def test_given_dhpreact_is_computed_by_hand_and_correct(dataset):
    s, values = model.forward_values(dataset)
    g32 = model.autograd_gradients(s)
    assert torch.allclose(model.manual_dhpreact(s, values), g32["hpreact"], atol=1e-8)
