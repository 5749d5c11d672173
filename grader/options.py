"""What a grading run is asked to do, without torch: the variants, the tolerance, the limits, the points.

The batch's main process reads a rubric into these and sends them to its job processes; keeping
this module free of torch lets those processes start their worker before importing it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from grader.sandbox.limits import Limits

SEED = 2147483647  # the lecture's generator seed: the public variant
TOLERANCE_FACTOR = 16.0  # grader/compare.py: the multiple of autograd's own float32 error an answer may be off
POLICIES = ("roundoff", "allclose", "exact")


@dataclass(frozen=True)
class Variant:
    """One configuration of the forward pass; `public` is the lecture's, the others are hidden."""

    name: str = "public"
    seed: int = SEED
    batch_size: int = 32
    n_hidden: int = 64
    n_embd: int = 10

    def to_dict(self) -> dict:
        return asdict(self)


PUBLIC = Variant()
# graded too, so that hard-coded sizes (32, 31, 64) and pasted tensors fail; their seeds stay private
HIDDEN = (
    Variant(name="hidden-1", seed=1337, batch_size=17),
    Variant(name="hidden-2", seed=271828, n_hidden=48),
)


@dataclass(frozen=True)
class Tolerance:
    """When a float32 answer passes (a rubric's [tolerance]).

    "roundoff" (the default, grader/compare.py), "allclose" (the lecture's cmp: torch.allclose
    with rtol/atol) or "exact" (bit-identical to autograd's float32 gradient).
    """

    policy: str = "roundoff"
    factor: float = TOLERANCE_FACTOR  # roundoff: the multiple of autograd's own float32 error
    rtol: float = 1e-5  # allclose
    atol: float = 1e-8  # allclose


@dataclass
class Options:
    """How to grade: which variants, which limits, how many points (a rubric fills these)."""

    variants: tuple = (PUBLIC, *HIDDEN)  # public first; a check must pass on all
    limits: Limits = field(default_factory=Limits)
    points: dict = field(default_factory=dict)  # exercise id -> points per check
    integrity_zeroes: bool = True  # an exercise whose code calls autograd scores 0
    ex4: dict = field(default_factory=dict)  # exercise 4's options (steps, full run ...)
    check_points: dict = field(default_factory=dict)  # (exercise id, check name) -> points, over `points`
    tolerance: Tolerance = field(default_factory=Tolerance)  # when an answer passes
