"""The format a student's process sends its answers in: safetensors bytes, which cannot carry code.

A frame is a safetensors file: plain tensors plus one JSON string under the metadata key "meta".
Nothing is ever unpickled; the parent parses the header as JSON and the tensors as raw bytes.
"""
from __future__ import annotations

import json
import struct

import torch
from safetensors.torch import load as _st_load
from safetensors.torch import save as _st_save

from grader.compare import Answer
from grader.results import clean_data

MAX_FRAME_BYTES = 256 * 1024 * 1024  # refuse anything larger without reading it into tensors
META_TEXT = 16 * 1024  # characters kept of one string of the metadata (an exception's message, a warning)
META_DEPTH = 12  # nesting kept of the metadata (the grader's own is 5 deep at most)
META_ITEMS = 10_000  # entries kept of one list or object of the metadata


class FrameError(Exception):
    """The bytes a child sent back are not a valid frame."""


def plain(t: torch.Tensor) -> torch.Tensor:
    """A tensor subclass or a view reduced to a plain contiguous CPU tensor with its own storage."""
    return torch.Tensor.contiguous(torch.Tensor.detach(t).as_subclass(torch.Tensor).cpu()).clone()


_DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
           torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
           torch.bool: "BOOL"}


def encode(tensors: dict, meta: dict) -> bytes:
    """Serialise plain tensors and JSON-able metadata as a safetensors file (used inside the child).

    Written here rather than by safetensors' own `save`, which goes through numpy for each tensor
    (~0.1 ms a tensor, 3 ms for exercise 1's 26 gradients); the parent reads it with safetensors'
    parser either way (tests/sandbox/test_wire.py reads every sendable dtype back).
    """
    plain_tensors = {name: plain(value) for name, value in tensors.items()}
    if any(t.dtype not in _DTYPES for t in plain_tensors.values()):  # a dtype no gradient has (exercise 4's own
        return _st_save(plain_tensors, metadata={"meta": json.dumps(meta)})  # tensors, changed by a block): safetensors
    header, chunks, offset = {"__metadata__": {"meta": json.dumps(meta)}}, [], 0
    for name, t in plain_tensors.items():
        data = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)  # the tensors' bytes start 8-aligned, as safetensors writes them
    return struct.pack("<Q", len(head)) + head + b"".join(chunks)


RECORD_HEAD = 9  # a record: 1 byte of flags, the frame's length (8 bytes, little-endian), the frame


def record(frame: bytes, again: bool) -> bytes:
    """One run's answer as the child writes it to the worker: flags (1: the child can run more), length, frame."""
    return bytes([1 if again else 0]) + len(frame).to_bytes(8, "little") + frame


def oversized_record(limit: int) -> bytes:
    """The head of a record whose frame would exceed `limit` bytes, without the frame: the worker stops the run
    on reading it, as it would on a frame that long (the child's shortcut, never its word: the worker checks)."""
    return bytes([0]) + (limit + 1).to_bytes(8, "little")


def record_size(buf) -> int | None:
    """The whole record's size, once its head has arrived."""
    if len(buf) < RECORD_HEAD:
        return None
    return RECORD_HEAD + int.from_bytes(bytes(buf[1:RECORD_HEAD]), "little")


def split_record(blob: bytes) -> tuple[bytes, bool]:
    """(frame, again) from a complete record."""
    return blob[RECORD_HEAD:], bool(blob[0] & 1)


def decode(blob: bytes, max_bytes: int = MAX_FRAME_BYTES) -> tuple[dict, dict]:
    """Parse a frame into (tensors, meta); FrameError when it is malformed or too large."""
    meta = _meta(blob, max_bytes)
    try:
        tensors = _st_load(blob)
    except Exception as exc:  # any parse failure of untrusted bytes (RecursionError included) is the child's fault
        raise FrameError(f"unreadable answer ({type(exc).__name__})") from None
    return tensors, _normalise(meta)


def decode_meta(blob: bytes, max_bytes: int = MAX_FRAME_BYTES) -> dict:
    """A frame's metadata alone, as decode() gives it (the worker reads the run's error, never its tensors)."""
    return _normalise(_meta(blob, max_bytes))


def _meta(blob: bytes, max_bytes: int) -> dict:
    if len(blob) > max_bytes:
        raise FrameError(f"answer of {len(blob)} bytes exceeds the {max_bytes} byte limit")
    if len(blob) < 8:
        raise FrameError("empty answer")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if header_len > len(blob) - 8:
        raise FrameError("truncated answer")
    try:
        header = json.loads(blob[8 : 8 + header_len])
        meta = json.loads(header.get("__metadata__", {}).get("meta", "{}"))
    except Exception as exc:  # any parse failure of untrusted bytes (RecursionError included) is the child's fault
        raise FrameError(f"unreadable answer ({type(exc).__name__})") from None
    if not isinstance(meta, dict):
        raise FrameError("unreadable answer (metadata is not an object)")
    return meta


def _normalise(meta: dict) -> dict:
    """The metadata bounded (depth, size, valid text) and its error and warnings in the shapes the parent reads.

    Whatever the child's process sent (a student can write a fake record to its result pipe), what
    leaves here is small, plain, valid UTF-8 and typed: reading it cannot raise in the parent.
    """
    meta = clean_data(meta, META_TEXT, META_DEPTH, META_ITEMS)
    err = meta.get("error")
    if isinstance(err, dict):
        lineno = err.get("lineno")
        meta["error"] = {**err, "type": str(err.get("type", "")), "message": str(err.get("message", "an error")),
                         "lineno": lineno if isinstance(lineno, int) and not isinstance(lineno, bool) else None,
                         "integrity": err.get("integrity") is True}
    elif "error" in meta and not isinstance(err, (str, list)):
        meta["error"] = None
    warnings = meta.get("warnings")
    if "warnings" in meta:
        meta["warnings"] = [w for w in warnings if isinstance(w, dict)] if isinstance(warnings, list) else []
    return meta


def answers(tensors: dict, meta: dict, names) -> dict:
    """The Answer under each gradient name, from a decoded frame."""
    described = meta.get("values", {}) if isinstance(meta.get("values"), dict) else {}
    out = {}
    for name in names:
        info = described.get(name)
        if not isinstance(info, dict):
            out[name] = Answer("missing")
        elif info.get("kind") == "tensor" and name in tensors:
            out[name] = Answer("tensor", tensors[name])
        else:
            out[name] = Answer(str(info.get("kind", "unreadable")), None, str(info.get("type", "")), str(info.get("detail", "")))
    return out


def describe(value, max_numel: int) -> tuple[torch.Tensor | None, dict]:
    """Inside the child: what to send for one value (a plain tensor, or a description of why not)."""
    if value is None:
        return None, {"kind": "none"}
    if isinstance(value, torch.Tensor):
        numel = torch.Tensor.numel(value)
        if numel > max_numel:
            return None, {"kind": "too_large", "detail": f"has {numel} elements, more than the limit of {max_numel}"}
        if value.is_complex() or value.dtype not in _SENDABLE:
            return None, {"kind": "unreadable", "detail": f"has dtype {value.dtype}, which a gradient cannot have"}
        return value, {"kind": "tensor"}
    cls = type(value)
    name = cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__.split('.')[0]}.{cls.__name__}"
    return None, {"kind": "other", "type": name}


_SENDABLE = frozenset(_DTYPES)  # what a gradient may be sent as: the dtypes encode() writes itself
