"""What a grading run is asked to do, without torch: the variants, the tolerance, the limits, the points.

The batch's main process reads a rubric into these and sends them to its job processes; keeping
this module free of torch lets those processes start their worker before importing it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

SEED = 2147483647  # the lecture's generator seed: the public variant
TOLERANCE_FACTOR = 16.0  # grader/compare.py: the multiple of autograd's own float32 error an answer may be off
POLICIES = ("roundoff", "allclose", "exact")


@dataclass(frozen=True)
class Limits:
    """What one run of a student's exercise may use; every field can be set in a rubric."""

    seconds: float = 20.0  # wall time; the child and everything it started are killed
    memory_mb: int = 2048  # address space the student's code may add to the worker's (and the run's cgroup)
    processes: int = 64  # processes and threads the run may have at once
    output_bytes: int = 64 * 1024  # what it prints is kept up to this, the rest dropped
    file_mb: int = 64  # largest file it may write (in its own temporary directory)
    max_numel: int = 4_000_000  # largest tensor it may send back
    frame_bytes: int = 64 * 1024 * 1024  # largest answer it may send back

    def to_dict(self) -> dict:
        return asdict(self)


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


def private_variants(seeds) -> tuple:
    """Hidden variants with a rubric's own seeds (never shipped): the shapes of HIDDEN in turn, one seed each."""
    return tuple(Variant(name=f"hidden-{i + 1}", seed=int(seed), batch_size=HIDDEN[i % len(HIDDEN)].batch_size,
                         n_hidden=HIDDEN[i % len(HIDDEN)].n_hidden, n_embd=HIDDEN[i % len(HIDDEN)].n_embd)
                 for i, seed in enumerate(seeds))


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
    follow_through: bool = True  # grade each gradient given right inputs (error carried forward); False: as written
    private_variants: bool = False  # the hidden variants' seeds come from the rubric (an exam): say nothing of their runs
    hints: bool = True  # a failing check carries hints (grader/diagnosis/hints.py); a rubric's [report] hints
