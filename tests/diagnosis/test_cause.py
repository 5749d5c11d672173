"""diagnose() names the cause of one-line mistakes and never claims one for a correct answer (bench_diagnosis.py)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import torch

from grader import model
from grader.diagnosis import diagnose, explain
from grader.diagnosis.cause import context, matches
from grader.diagnosis.generic import matmul_error

ROOT = Path(__file__).resolve().parents[2]


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_diagnosis", ROOT / "benchmarks" / "bench_diagnosis.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


@pytest.fixture(scope="module")
def variants(dataset):
    return bench.Variants(dataset)


@pytest.fixture(scope="module")
def outcomes(variants):
    return [bench.run_mistake(mk, variants) for mk in bench.corpus()]


def test_the_corpus_covers_every_exercise_and_every_mistake_fails(outcomes):
    assert len(outcomes) >= 40
    assert {o.mistake.exercise for o in outcomes} == {1, 2, 3, 4}
    ex4 = {o.mistake.grad for o in outcomes if o.mistake.exercise == 4}
    assert {"C", "W1", "b1", "W2", "b2", "bngain", "bnbias"} <= ex4 and ex4 & {"logits", "hprebn", "hpreact"}
    assert all(o.status != "pass" for o in outcomes), [o.mistake.label for o in outcomes if o.status == "pass"]


def test_at_least_90_percent_of_the_mistakes_are_named(outcomes):
    missed = [(o.mistake.label, o.finding) for o in outcomes if not o.named]
    assert len(missed) <= 0.1 * len(outcomes), missed


def test_no_diagnosis_for_correct_styles(dataset):
    """Every correct style of the tolerance study, ungated: no wrong form or test matches (2 seeds + other shapes)."""
    checks, false, examples = bench.false_diagnoses(dataset, seeds=2)
    assert checks > 1000
    assert false == 0, examples[:5]


def test_a_correct_answer_is_never_explained_even_a_wrong_form_close_to_it(variants):
    s, g32, g64, _ = variants.get(model.PUBLIC)
    for name in ("logit_maxes", "b1", "hpreact", "C"):  # two gradients are ~0: every wrong form is far from them
        assert explain(name, g32[name], s, g32, g64) is None
        assert explain(name, g32[name] * (1 + 1e-7), s, g32, g64) is None


def test_the_hard_coded_size_is_named_on_the_hidden_batch(variants):
    s, g32, g64, _ = variants.get(bench.HIDDEN17)
    answer = g64["logprobs"] * 17 / 32
    sentence = diagnose("logprobs", answer.float(), s, g32, g64)
    assert sentence and "hard-coded 32" in sentence and "17/32" in sentence


def test_a_distinct_wrong_form_is_required(variants):
    """A form equal to the truth (the logit_maxes branch of dlogits, ~0) never names a cause: the check can fail."""
    s, g32, g64, _ = variants.get(model.PUBLIC)
    ctx = context(s, g32, g64)
    only_norm = ctx.branches("logits")["norm_logits"]
    assert matches(ctx, "logits", only_norm) == []
    wrong = ctx.branches("counts")["probs"]
    assert [f.id for f in matches(ctx, "counts", wrong)] == ["branch-only:probs"]


def test_nothing_to_diagnose_for_non_tensors(variants):
    s, g32, g64, _ = variants.get(model.PUBLIC)
    assert diagnose("W2", None, s, g32, g64) is None
    assert diagnose("W2", torch.full((64, 27), float("nan")), s, g32, g64) is None
    assert diagnose("nonexistent", g32["W2"], s, g32, g64) is None


def test_a_matmul_that_raises_is_named():
    assert "transpose" in matmul_error("h", "mat1 and mat2 shapes cannot be multiplied (32x27 and 64x27)")
    assert matmul_error("h", "name 'x' is not defined") is None
