"""Exercise 4's verdict never depends on the machine's load; autograd's trajectory is cached, not recomputed."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

from grader import model
from grader.training import cache, loop as training, run as training_run

ROOT = Path(__file__).resolve().parents[2]
ANSWER = ROOT / "tests" / "fixtures" / "notebooks" / "answer.ipynb"  # the lecture's answers: dC by a loop over Xb


def verdicts(result) -> list:
    """Everything a student is graded on: per check its status, score and message (timings left out)."""
    return [(ex.id, c.name, c.status, c.score, c.message) for ex in result.exercises for c in ex.checks]


def test_same_notebook_same_grade_with_both_cores_busy(grader):
    quiet = grader.grade([ANSWER])
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(max(2, os.cpu_count() or 2))]
    try:
        loaded = grader.grade([ANSWER])
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    assert verdicts(loaded) == verdicts(quiet)
    assert loaded.score == quiet.score == loaded.max_score  # full marks: its (64,) dbnmeani counts (issue 11)
    t4 = loaded.exercise(4).extra["training"]
    assert t4["steps_done"] == t4["steps"] == training_run.QUICK_STEPS  # the fixed amount of work, done under load


def test_autograd_trajectory_is_read_back_from_the_cache(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv(cache.ENV, raising=False)
    variant, steps = training.variant_for(model.PUBLIC), 30
    monkeypatch.setattr(training_run, "_CACHE", {})
    fresh = training_run.autograd_run(dataset, variant, steps)
    assert cache.path(variant, steps).is_file() and str(tmp_path) in str(cache.path(variant, steps))
    monkeypatch.setattr(training_run, "_CACHE", {})
    again = training_run.autograd_run(dataset, variant, steps)
    assert torch.equal(again.losses, fresh.losses)
    assert all(torch.equal(again.params[k], fresh.params[k]) for k in fresh.params)
    assert cache.path(variant, steps + 1) != cache.path(variant, steps)  # keyed by the steps (and version, loop, variant)
    cache.path(variant, steps).write_bytes(b"not a safetensors file")
    assert cache.load(variant, steps) is None  # a damaged file is ignored, then rewritten
