"""Where a 2-D gradient is off, as data: |answer - autograd| in tolerances, pooled to a small grid, and in words.

report/heatmap.py draws the grid; the words are the picture's alt text ("off in column 5 only").
"""
from __future__ import annotations

import math

import torch

MAX_CELLS = 32  # the grid is at most this many cells a side (max-pooled)


def _pool(ratio: torch.Tensor) -> list[list[float]]:
    rows, cols = ratio.shape
    br, bc = math.ceil(rows / MAX_CELLS), math.ceil(cols / MAX_CELLS)
    pooled = torch.nn.functional.max_pool2d(ratio[None, None], (br, bc), ceil_mode=True)[0, 0]
    return [[float(f"{x:.3g}") for x in row] for row in pooled.tolist()]


def _listing(items: list, noun: str) -> str:
    shown = [str(i) for i in items[:6]]
    if len(items) == 1:
        return f"{noun} {shown[0]}"
    if len(items) > 6:
        return f"{len(items)} {noun}s ({', '.join(shown)} …)"
    return f"{noun}s " + ", ".join(shown[:-1]) + " and " + shown[-1]


def describe(off: torch.Tensor, name: str = "", Yb: torch.Tensor | None = None, itos: dict | None = None) -> str:
    """Where `off` (a 2-D bool mask) is True, in words: 'off in column 5 only', 'off in every row at the target column'."""
    total, count = off.numel(), int(off.sum())
    if count == 0:
        return "within tolerance everywhere"
    if count == total:
        return f"off in every element ({total} of {total})"
    rows = off.any(1).nonzero().flatten().tolist()
    cols = off.any(0).nonzero().flatten().tolist()
    head = f"{count} of {total} elements off"
    if Yb is not None and off.shape[0] == len(Yb) and off.shape[1] > int(Yb.max()):
        target = torch.zeros_like(off)
        target[range(len(Yb)), Yb] = True
        if bool((off & ~target).sum() == 0):
            every = " in every row" if len(rows) == off.shape[0] else ""
            return f"{head}, only at the target column of each row ([range(n), Yb]){every}"
    if count <= 3:
        where = ", ".join(f"[{r}, {c}]" for r, c in off.nonzero().tolist())
        return f"{head}, only at {where} (row, column)"
    if name == "C" and itos:
        chars = ", ".join(repr(itos.get(r, r)) for r in rows[:8]) + (" …" if len(rows) > 8 else "")
        return f"{head}, in {_listing(rows, 'row')} of C, the characters {chars}"
    if len(cols) == 1:
        span = "every row" if len(rows) == off.shape[0] else _listing(rows, "row")
        return f"{head}, in column {cols[0]} only ({span})"
    if len(rows) == 1:
        span = "every column" if len(cols) == off.shape[1] else _listing(cols, "column")
        return f"{head}, in row {rows[0]} only ({span})"
    if len(rows) == off.shape[0] and len(cols) < off.shape[1]:
        return f"{head}, in every row, in {_listing(cols, 'column')}"
    if len(cols) == off.shape[1] and len(rows) < off.shape[0]:
        return f"{head}, in {_listing(rows, 'row')}, in every column"
    return f"{head}, in {_listing(rows, 'row')} and {_listing(cols, 'column')}"


def error_map(answer, truth: torch.Tensor, tol: float, name: str = "", Yb=None, itos=None) -> tuple[list, str]:
    """(grid, alt): |answer - truth| / tol pooled to at most 32x32 cells, and where it is off in words.

    ([], '') unless answer and truth are 2-D tensors of the same shape.
    """
    if not isinstance(answer, torch.Tensor) or answer.shape != truth.shape or truth.dim() != 2 or not truth.numel():
        return [], ""
    diff = (answer.detach().double() - truth.double()).abs()
    diff = torch.nan_to_num(diff, nan=math.inf)
    ratio = diff / tol if tol > 0 else torch.where(diff > 0, math.inf, 0.0)
    ratio = ratio.clamp(max=1e12)
    return _pool(ratio), describe(ratio > 1.0, name, Yb, itos)
