"""Exercise 4's timings inside the child: the reference's speed (for the safety limit) and the student's block
timed against it, interleaved, so that the load of the machine slows both alike.

Both blocks run on a decoy: parameters and a batch drawn from a generator no variant uses, so what the
reference computes is nobody's answer. Nothing here decides a grade; the parent words the speed note.
"""
from __future__ import annotations

import time

import torch

from grader import model

DECOY_SEED_MIX = 0x2545F491  # decoy seed = the variant's seed ^ this: not a seed any variant uses
REFERENCE_RUNS, REFERENCE_SECONDS = 5, 0.05  # the reference's steps timed for the safety limit: at least this many, this long
PAIRS, PAIRS_SECONDS = 24, 0.4  # interleaved (yours, reference) timings after training: at most this many, this long


def decoy(ds, variant: model.Variant, init, draw_batch, forward, namespace):
    """A function returning a fresh namespace of one decoy step each call (same shapes and work as the loop's)."""
    g = torch.Generator().manual_seed(variant.seed ^ DECOY_SEED_MIX)
    params = model.init_parameters(ds.vocab_size, ds.block_size, variant, g)
    ix = draw_batch(ds, g, variant.batch_size)
    Xb, Yb = ds.Xtr[ix], ds.Ytr[ix]
    base = namespace(ds, variant, params)
    values = forward(params, Xb, Yb)

    def fresh() -> dict:
        return dict(base, **values, i=0, lr=0.1, Xb=Xb, Yb=Yb)
    return fresh, (lambda: forward(params, Xb, Yb))


def reference_step_ms(reference, fresh, forward) -> float:
    """Milliseconds of one reference step (its forward pass and backward block): the mean over REFERENCE_SECONDS.

    A mean over a window longer than the scheduler's time slice slows down with the machine's load as a
    long run does (a median of single steps would miss the preemptions a long run suffers).
    """
    forward()
    reference.run(fresh())  # warm-up
    runs, start = 0, time.perf_counter()
    while runs < REFERENCE_RUNS or time.perf_counter() - start < REFERENCE_SECONDS:
        forward()
        reference.run(fresh())
        runs += 1
    return 1e3 * (time.perf_counter() - start) / runs


def interleaved(student, reference, fresh, clock) -> list[list[float]]:
    """[[yours ms, reference ms], ...]: each pair timed back to back, the order alternating."""
    pairs: list[list[float]] = []
    start = time.perf_counter()
    while len(pairs) < PAIRS and time.perf_counter() - start < PAIRS_SECONDS and not clock.up:
        pair = [0.0, 0.0]
        order = ((0, student), (1, reference)) if len(pairs) % 2 == 0 else ((1, reference), (0, student))
        for slot, block in order:
            ns = fresh()
            clock.in_student = block is student
            t0 = time.perf_counter()
            try:
                block.run(ns)
            finally:
                clock.in_student = False
            pair[slot] = 1e3 * (time.perf_counter() - t0)
        pairs.append(pair)
    return pairs[1:] if len(pairs) > 2 else pairs  # the first pair warms up
