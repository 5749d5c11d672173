"""The lecture's `cmp` as a pure function: shape, exact, approximate, maxdiff, and a verdict.

The verdict does not use `torch.allclose` alone: correct float32 code that sums in another
order than autograd differs by ~1e-8 near zero and fails allclose's defaults about 2% of the
time. Instead the answer is compared with a float64 autograd reference, and each element may be
off by at most

    tolerance = TOLERANCE_FACTOR * max(max|g32 - g64|, EPS32 * max|g64|)

i.e. a small multiple of autograd's own float32 error on that tensor (or of one float32 ulp of
the tensor's largest value, whichever is larger). `benchmarks/tolerance_study.py` measures it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from grader.options import PUBLIC, TOLERANCE_FACTOR, Tolerance  # noqa: F401 - re-exported: compare.Tolerance
from grader.results import ERROR, FAIL, MISSING, PASS, CheckResult

EPS32 = torch.finfo(torch.float32).eps
PUBLIC_BATCH = PUBLIC.batch_size


@dataclass
class Answer:
    """What a student's code left under a gradient's name, as the grader received it.

    kind: "tensor", "none" (None), "missing" (never assigned), "other" (not a tensor),
    "too_large" or "unreadable" (it could not be sent back).
    """

    kind: str
    tensor: torch.Tensor | None = None
    type_name: str = ""
    detail: str = ""


def fmt_shape(shape) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def broadcast(a: tuple, b: tuple) -> tuple | None:
    """The shape `a` and `b` broadcast to, or None if they do not (torch.broadcast_shapes without its
    first call's import of sympy, half a second)."""
    a, b = tuple(map(int, a)), tuple(map(int, b))
    width = max(len(a), len(b))
    a, b = (1,) * (width - len(a)) + a, (1,) * (width - len(b)) + b
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        return None
    return tuple(y if x == 1 else x for x, y in zip(a, b))


def fits(shape: tuple, expected: tuple) -> bool:
    """An answer of `shape` stands in for `expected`: the same elements, only size-1 dimensions differ,
    and broadcasting it against `expected` gives `expected` (so `x += answer` keeps x's shape)."""
    if [s for s in shape if s != 1] != [s for s in expected if s != 1]:
        return False
    return broadcast(shape, expected) == tuple(expected)


_PER_REFERENCE: dict = {}  # (what, ids and versions of the references) -> (the references, the value)


def _per_reference(what, refs: tuple, compute):
    """compute(), once per reference tensor(s): a grader compares every submission with the same ones."""
    key = (what, *((id(r), r._version) for r in refs))
    hit = _PER_REFERENCE.get(key)
    if hit is not None and all(a is b for a, b in zip(hit[0], refs)):
        return hit[1]
    value = compute()
    if len(_PER_REFERENCE) >= 1024:  # a study's throwaway tensors: keep the cache small
        _PER_REFERENCE.clear()
    _PER_REFERENCE[key] = (refs, value)
    return value


def tolerance(ref32: torch.Tensor, ref64: torch.Tensor, factor: float | None = None) -> float:
    """How far a correct float32 answer may be from the float64 reference, per element."""
    factor = TOLERANCE_FACTOR if factor is None else factor

    def compute() -> float:
        autograd_error = (ref32.double() - ref64).abs().max().item()
        return factor * max(autograd_error, EPS32 * ref64.abs().max().item())
    return _per_reference(("tolerance", factor), (ref32, ref64), compute)


def _scaled(ref32: torch.Tensor) -> torch.Tensor:
    """1e-5 * |ref32|: torch.allclose's rtol term."""
    return _per_reference("rtol", (ref32,), lambda: (1e-5 * ref32).abs())


def _not_a_tensor(name: str, answer: Answer, expected: str) -> str:
    kind = answer.type_name
    if kind in ("list", "tuple"):
        return f"d{name} is a Python {kind}, not a torch.Tensor of shape {expected}; build it with torch operations"
    if kind.startswith("numpy"):
        return f"d{name} is a {kind}; gradients must be torch tensors of shape {expected} (torch.from_numpy converts)"
    if kind in ("int", "float", "bool", "complex"):
        return f"d{name} is a plain number ({kind}); expected a tensor of shape {expected}"
    return f"d{name} is a {kind}, not a torch.Tensor of shape {expected}"


def _nonfinite(name: str, t: torch.Tensor) -> str | None:
    bad = ~torch.isfinite(t)
    if not bad.any():
        return None
    nans, infs = int(torch.isnan(t).sum()), int(torch.isinf(t).sum())
    first = [int(i) for i in bad.nonzero()[0]]
    what = " and ".join(x for x in (f"{nans} NaN" if nans else "", f"{infs} inf" if infs else "") if x)
    return f"d{name} contains {what} (first at {first}): a division by zero or log of zero?"


def _factor_hint(answer: torch.Tensor, ref: torch.Tensor, n: int | None) -> str:
    """Name a constant factor between answer and reference (a missing 1/n, a flipped sign)."""
    denom = (ref * ref).sum().item()
    if denom == 0.0:
        return ""
    alpha = (answer * ref).sum().item() / denom
    residual = (answer - alpha * ref).abs().max().item()
    if residual > 1e-3 * ref.abs().max().item() or abs(alpha) < 1e-12:
        return ""
    known = {-1.0: "the sign is flipped"}
    if n:
        known.update({
            float(n): f"a factor of n = {n}: a missing 1/n?", 1.0 / n: f"a factor of 1/n = 1/{n}: an extra 1/n?",
            n / (n - 1): "a factor of n/(n-1): n-1 where n belongs (or the other way round)?",
            (n - 1) / n: "a factor of (n-1)/n: n where n-1 belongs (Bessel's correction)?",
            2.0: "a factor of 2", 0.5: "a factor of 1/2",
        })
        if n != PUBLIC_BATCH:  # a hidden variant's batch: a hard-coded 32 shows as a factor of 32/n
            known.update({PUBLIC_BATCH / n: f"a factor of {PUBLIC_BATCH}/{n}: a hard-coded {PUBLIC_BATCH} where n belongs?",
                          n / PUBLIC_BATCH: f"a factor of {n}/{PUBLIC_BATCH}: a hard-coded {PUBLIC_BATCH} where n belongs?"})
    for value, text in known.items():
        if abs(alpha - value) <= 1e-3 * abs(value):
            return f"; off by {text}"
    return f"; off by a constant factor of {alpha:.4g}"


def compare(name: str, answer: Answer, ref32: torch.Tensor, ref64: torch.Tensor, n: int | None = None,
            policy: Tolerance | None = None) -> CheckResult:
    """Grade d<name>: `ref32` is autograd's float32 gradient (what `cmp` uses), `ref64` the float64 one."""
    policy = policy or Tolerance(factor=TOLERANCE_FACTOR)  # read at call time, so a study can vary it
    expected = fmt_shape(ref32.shape)
    result = CheckResult(name=name, status=ERROR, expected_shape=list(ref32.shape))
    if answer.kind in ("none", "missing"):
        result.status = MISSING
        result.message = f"d{name} is None: not attempted yet" if answer.kind == "none" else f"d{name} was never assigned"
        return result
    if answer.kind != "tensor":
        result.message = _not_a_tensor(name, answer, expected) if answer.kind == "other" else f"d{name}: {answer.detail}"
        return result
    t = answer.tensor
    result.shape = list(t.shape)
    shape_note = ""
    if tuple(t.shape) != tuple(ref32.shape):
        if fits(tuple(t.shape), tuple(ref32.shape)):
            # only size-1 dimensions differ and it broadcasts to the right shape where the lecture uses it
            # (dbnmeani (64,) for (1, 64)); a parameter's (1, 64) for b1's (64,) would not fit `p.data += ...`
            shape_note = (f"d{name} has shape {fmt_shape(t.shape)} where {name} has {expected}; it broadcasts to "
                          f"{expected} where the lecture uses it, so it counts (keepdim=True gives the exact shape)")
            t = t.reshape(ref32.shape)
        else:
            result.status = FAIL
            hidden = "" if broadcast(t.shape, ref32.shape) is None else \
                " (torch.allclose broadcasts, so the lecture's cmp would not notice; check keepdim and sums)"
            result.message = f"d{name} has shape {fmt_shape(t.shape)} but {name} has shape {expected}{hidden}"
            if tuple(t.shape) == tuple(reversed(ref32.shape)) and t.dim() == 2:
                result.message += "; it is transposed (swap the operands of @, or .T)"
            return result
    result = _judge(result, name, t, ref32, ref64, n, policy, expected)
    if shape_note:
        result.message = shape_note if result.status == PASS else f"{result.message} ({shape_note})"
    return result


def _judge(result: CheckResult, name: str, t: torch.Tensor, ref32: torch.Tensor, ref64: torch.Tensor, n: int | None,
           policy: Tolerance, expected: str) -> CheckResult:
    """dtype, then cmp's exact/approximate/maxdiff, then the verdict under the tolerance policy."""
    if t.dtype != ref32.dtype:
        result.message = f"d{name} has dtype {t.dtype}, expected {ref32.dtype} like {name}"
        if not t.is_floating_point():
            result.message += " (integer tensors cannot hold a gradient: did an operation drop the float type?)"
        return result
    result.exact = bool(torch.equal(t, ref32))
    if result.exact and (policy.factor is None or policy.factor >= 1):
        # autograd's own float32 answer: within every policy's tolerance (its error is below its tolerance)
        result.approximate, result.maxdiff, result.status, result.message = True, 0.0, PASS, "exact"
        return result
    diff = (t - ref32).abs()
    # torch.allclose's defaults (rtol 1e-5, atol 1e-8), computed as isclose does, on the difference taken once
    # (autograd's gradients are finite, so isclose's special cases for inf and NaN never apply)
    result.approximate = bool((diff <= 1e-8 + _scaled(ref32)).all())
    result.maxdiff = float(diff.max().item()) if t.numel() else 0.0
    bad = _nonfinite(name, t) if not math.isfinite(result.maxdiff) else None  # a NaN or inf in the answer shows there
    if bad:
        result.status, result.message = FAIL, bad
        return result
    tol = tolerance(ref32, ref64, policy.factor)
    error = (t.double() - ref64).abs().max().item() if t.numel() else 0.0
    if policy.policy == "exact" and not result.exact:
        result.status = FAIL
        result.message = f"d{name} is not bit-exact (maxdiff {result.maxdiff:.3g}); this course requires exact gradients"
        return result
    if policy.policy == "allclose":
        if torch.allclose(t, ref32, rtol=policy.rtol, atol=policy.atol):
            result.status, result.message = PASS, "exact" if result.exact else f"approximate (maxdiff {result.maxdiff:.3g})"
        else:
            result.status = FAIL
            result.message = (f"d{name} is not allclose to autograd (rtol={policy.rtol:g}, atol={policy.atol:g}; "
                              f"maxdiff {result.maxdiff:.3g}){_factor_hint(t.double(), ref64, n)}")
        return result
    if error <= tol:
        result.status = PASS
        if result.exact:
            result.message = "exact"
        elif result.approximate:
            result.message = f"approximate (maxdiff {result.maxdiff:.3g})"
        else:
            result.message = f"within float32 round-off (error {error:.3g} <= tolerance {tol:.3g})"
        return result
    result.status = FAIL
    wrong = int(((t.double() - ref64).abs() > tol).sum())
    result.message = (
        f"d{name} differs from autograd by up to {error:.3g} (tolerance {tol:.3g}); "
        f"{wrong} of {t.numel()} elements are off{_factor_hint(t.double(), ref64, n)}"
    )
    return result
