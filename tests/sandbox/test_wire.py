"""The answer format: safetensors bytes and JSON only; nothing a child sends is unpickled."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from grader.sandbox import wire


class Liar(torch.Tensor):
    def __eq__(self, other):
        return True


def test_round_trip_keeps_values_and_metadata():
    t = torch.randn(4, 3)
    tensors, meta = wire.decode(wire.encode({"logits": t}, {"values": {"logits": {"kind": "tensor"}}}))
    assert torch.equal(tensors["logits"], t) and meta["values"]["logits"]["kind"] == "tensor"


@pytest.mark.parametrize("dtype", sorted(wire._SENDABLE, key=str))
def test_every_sendable_dtype_is_read_back_by_safetensors_own_parser(dtype):
    """The child writes the format itself; safetensors' reader (the parent's) gets the same tensors back,
    whatever the order, shapes and alignment (a 3-element float32 before a float64 one)."""
    from safetensors.torch import load

    values = {"odd": torch.randn(3), "x": (torch.randn(5, 2) * 10).to(dtype), "empty": torch.zeros(0, 4, dtype=dtype),
              "scalar": torch.tensor(1, dtype=dtype), "wide": torch.randn(2, 3, dtype=torch.float64).T,
              "keep": torch.ones(1, 64, dtype=dtype)}
    blob = wire.encode(values, {"values": {}})
    for read in (load(blob), wire.decode(blob)[0]):
        assert set(read) == set(values)
        for name, value in values.items():
            assert read[name].dtype == value.dtype and read[name].shape == value.shape
            assert torch.equal(read[name], value.contiguous()), name


def test_the_meta_alone_is_what_decode_gives():
    blob = wire.encode({"x": torch.ones(2)}, {"error": {"type": "MemoryError", "message": "m", "lineno": True}})
    assert wire.decode_meta(blob) == wire.decode(blob)[1]
    assert wire.decode_meta(blob)["error"]["lineno"] is None  # normalised the same way
    with pytest.raises(wire.FrameError):
        wire.decode_meta(blob[:20])


def test_a_lying_subclass_arrives_as_a_plain_tensor():
    t = torch.zeros(2, 2).as_subclass(Liar)
    tensors, _ = wire.decode(wire.encode({"x": t}, {}))
    assert type(tensors["x"]) is torch.Tensor
    assert not torch.equal(tensors["x"], torch.ones(2, 2))


@pytest.mark.parametrize("blob", [b"", b"\x00" * 7, b"\xff" * 8 + b"{}", b"\x02\x00\x00\x00\x00\x00\x00\x00{}garbage"])
def test_garbage_is_a_frame_error(blob):
    with pytest.raises(wire.FrameError):
        wire.decode(blob)


def test_frames_over_the_limit_are_refused_unread():
    with pytest.raises(wire.FrameError, match="exceeds"):
        wire.decode(wire.encode({"x": torch.zeros(1000)}, {}), max_bytes=100)


def test_pickle_payloads_are_not_executed(tmp_path):
    import pickle

    class Boom:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    with pytest.raises(wire.FrameError):
        wire.decode(b"\x10\x00\x00\x00\x00\x00\x00\x00" + pickle.dumps(Boom()))
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("value, kind, type_name", [
    (None, "none", ""), ([1.0, 2.0], "other", "list"), (np.zeros(3), "other", "numpy.ndarray"),
    (3.0, "other", "float"), (torch.zeros(3, dtype=torch.complex64), "unreadable", ""),
])
def test_describe_non_tensors(value, kind, type_name):
    tensor, info = wire.describe(value, max_numel=100)
    assert tensor is None and info["kind"] == kind and info.get("type", "") == type_name


def test_describe_refuses_huge_tensors():
    tensor, info = wire.describe(torch.zeros(101), max_numel=100)
    assert tensor is None and info["kind"] == "too_large"


def test_an_oversized_record_declares_more_than_the_limit_and_carries_no_frame():
    limit = 16 * 2**20
    head = wire.oversized_record(limit)
    assert len(head) == wire.RECORD_HEAD and wire.record_size(head) - wire.RECORD_HEAD == limit + 1
    assert wire.split_record(head) == (b"", False)  # the child says it can run no more


def test_a_dtype_no_gradient_has_still_makes_a_frame():
    """Exercise 4 sends the parameters as a block left them: a complex one goes through safetensors' own writer."""
    values = {"W1": torch.randn(3, 2, dtype=torch.complex64), "b1": torch.ones(2)}
    tensors, _ = wire.decode(wire.encode(values, {}))
    assert torch.equal(tensors["W1"], values["W1"]) and torch.equal(tensors["b1"], values["b1"])
