"""The tolerance study (benchmarks/tolerance_study.py) as a test: on 100 seeds and a few other
shapes, every correct solution passes `compare` and every wrong one fails, and the study itself
would notice if the tolerance were too tight or too loose."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from grader import compare
from grader.exercises import EX1_NAMES, EX4_NAMES

ROOT = Path(__file__).resolve().parent.parent


def _load_study():
    path = ROOT / "benchmarks" / "tolerance_study.py"
    spec = importlib.util.spec_from_file_location("tolerance_study", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


study = _load_study()


@pytest.fixture(scope="module")
def report(dataset):
    return study.study(dataset, study.configs(seeds=100, extra_seeds=5))


def _examples(report, attr):
    return [(r.solution.label, *e) for r in report.rows if getattr(r, attr) for e in r.examples[:2]]


def test_runs_100_seeds_and_other_shapes(report):
    shapes = {(v.batch_size, v.n_hidden) for v in report.configs}
    assert sum(1 for v in report.configs if (v.batch_size, v.n_hidden) == (32, 64)) == 100
    assert shapes == {(32, 64), *study.OTHER_SHAPES}
    assert all(r.runs == len(report.configs) for r in report.rows)


def test_no_correct_solution_fails(report):
    assert report.correct_checks > 20_000
    assert report.false_failures == 0, _examples(report, "false_failures")


def test_no_wrong_solution_passes(report):
    assert report.wrong_checks > 5_000
    assert report.false_passes == 0, _examples(report, "false_passes")


def test_margin_on_both_sides(report):
    """At least a factor 2 of headroom: correct errors stay under half the tolerance, wrong ones
    above twice it (measured: ~0.3 and ~260)."""
    assert report.max_correct_ratio < 0.5
    assert report.min_wrong_ratio > 2.0


def test_allclose_alone_rejects_correct_answers(report):
    """The issue's problem is real: the lecture's allclose rejects some correct float32 answers,
    and accepts wrong ones whose shape only broadcasts (a dropped keepdim)."""
    assert report.total("allclose_failures") > 0
    assert report.total("allclose_passes") > 0


def test_every_gradient_has_several_correct_styles():
    solutions = study.all_solutions()
    for exercise, names, at_least in ((1, EX1_NAMES, 5), (2, ("logits",), 5), (3, ("hprebn",), 5), (4, EX4_NAMES, 5)):
        correct = [s for s in solutions if s.exercise == exercise and s.correct]
        assert len(correct) >= at_least
        for s in correct:
            assert set(s.passes) == set(names), s.label


def test_the_issue_s_mistakes_are_all_there():
    labels = " | ".join(s.label for s in study.all_solutions() if not s.correct)
    for mistake in ("missing 1/n", "n instead of n-1", "missing transpose", "sign flipped",
                    "missing the counts_sum branch", "missing the bndiff2 branch", "missing the bnmeani branch",
                    "dropped keepdim"):
        assert mistake in labels


def test_wrong_solutions_differ_from_the_reference():
    """A mutant is the shipped reference with a line changed, never the reference itself."""
    refs = {1: study.reference("ex1_backprop_one_by_one.py"), 2: study.reference("ex2_cross_entropy.py"),
            3: study.reference("ex3_batchnorm.py"), 4: study.ex4()}
    for s in study.all_solutions():
        if not s.correct:
            assert s.code != refs[s.exercise], s.label


def test_mutate_refuses_a_missing_or_ambiguous_target():
    assert study.mutate("a = 1\nb = 2\n", ("b = 2", "b = 3")) == "a = 1\nb = 3\n"
    with pytest.raises(ValueError, match="found 0 times"):
        study.mutate("a = 1\n", ("b = 2", "b = 3"))
    with pytest.raises(ValueError, match="found 2 times"):
        study.mutate("a = 1\na = 1\n", ("a = 1", "a = 2"))


def test_the_study_catches_a_tolerance_that_is_too_loose(dataset, monkeypatch):
    """With 100,000 times autograd's error allowed, n for n-1 in the batchnorm variance passes."""
    monkeypatch.setattr(compare, "TOLERANCE_FACTOR", 1e5)
    loose = study.study(dataset, study.configs(seeds=3, extra_seeds=0))
    assert loose.false_passes > 0
    passed = {r.solution.label for r in loose.rows if r.false_passes}
    assert any("n instead of n-1" in label for label in passed)


def test_the_study_catches_a_tolerance_that_is_too_tight(dataset, monkeypatch):
    """Allowing only autograd's own float32 error (factor 1) rejects correct answers."""
    monkeypatch.setattr(compare, "TOLERANCE_FACTOR", 1.0)
    tight = study.study(dataset, study.configs(seeds=3, extra_seeds=0))
    assert tight.false_failures > 0
    assert tight.false_passes == 0


def test_report_prints_the_totals(dataset):
    small = study.study(dataset, study.configs(seeds=1, extra_seeds=0))
    text = study.format_report(small, by_name=True)
    assert "false failures: 0" in text and "false passes:   0" in text
    assert "torch.allclose with its defaults alone" in text
    assert "ex4 dC" in text


def test_script_exit_status(monkeypatch, capsys, names_path):
    """The script exits 0 when every verdict is right and 1 when one is not."""
    assert study.main(["--seeds", "1", "--extra-seeds", "0", "--names", str(names_path)]) == 0
    monkeypatch.setattr(compare, "TOLERANCE_FACTOR", 1.0)
    assert study.main(["--seeds", "1", "--extra-seeds", "0", "--names", str(names_path)]) == 1
    assert "!!" in capsys.readouterr().out
