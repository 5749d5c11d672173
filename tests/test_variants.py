"""Hidden variants: the references pass all of them; hard-coded sizes and pasted tensors pass only the public one."""
from __future__ import annotations

import dataclasses
import json
from contextlib import contextmanager
from pathlib import Path

import pytest

from grader import model
from grader.exercises import get as get_exercise
from grader.grading import describe_variant, merge_variants
from grader.model import HIDDEN, PUBLIC, Variant
from grader.results import CheckResult

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"
SOLUTION = {ex: (SOLUTIONS / get_exercise(ex).stub).read_text() for ex in (1, 2, 3)}


@contextmanager
def variants(grader, *chosen):
    """Grade on these variants only, for the length of a `with` block."""
    before = grader.options
    grader.options = dataclasses.replace(before, variants=chosen)
    try:
        yield grader
    finally:
        grader.options = before


def test_at_least_two_hidden_variants_change_the_seed_the_batch_and_the_width():
    assert len(HIDDEN) >= 2 and all(v.seed != PUBLIC.seed for v in HIDDEN)
    assert any(v.batch_size not in (PUBLIC.batch_size, PUBLIC.batch_size - 1) for v in HIDDEN)  # 32 and 31 both fail
    assert any(v.n_hidden != PUBLIC.n_hidden for v in HIDDEN)
    assert len({v.name for v in (PUBLIC, *HIDDEN)}) == len(HIDDEN) + 1


@pytest.mark.parametrize("variant", HIDDEN, ids=lambda v: v.name)
def test_reference_solutions_pass_every_hidden_variant_on_its_own(grader, variant):
    with variants(grader, variant) as g:
        result = g.grade([SOLUTIONS], None)
    for ex in result.exercises:
        if ex.id in (1, 2, 3):
            assert ex.score == ex.max_score > 0, [(c.name, c.message) for c in ex.checks if not c.passed]


HARD_CODED = [
    (2, ("dlogits[range(n), Yb] -= 1", "dlogits[range(32), Yb] -= 1"), ("dlogits /= n", "dlogits /= 32"), "a batch of 17"),
    (1, ("dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)", "dcounts_sum_inv = (counts * dprobs).sum(1).view(32, 1)"),
     None, "shape '[32, 1]' is invalid for input of size 17"),
    (1, ("dbndiff2 = (1.0 / (n - 1))", "dbndiff2 = (1.0 / 31)"), None, "a batch of 17"),
    (3, ("dhprebn = bngain", "dhprebn = torch.zeros(n, 64) + bngain"), None, "48 hidden units"),
]


@pytest.mark.parametrize("exercise, swap, swap2, words", HARD_CODED, ids=["ex2-32", "ex1-view32", "ex1-31", "ex3-64"])
def test_hard_coded_sizes_pass_the_public_seed_and_fail_a_hidden_variant(grader, write, exercise, swap, swap2, words):
    code = SOLUTION[exercise].replace(*swap)
    code = code.replace(*swap2) if swap2 else code
    assert code != SOLUTION[exercise]
    path = write(f"ex{exercise}.py", code)
    with variants(grader, PUBLIC) as g:
        public = g.grade([path], exercise).exercise(exercise)
    assert public.score == public.max_score, [c.message for c in public.checks if not c.passed]
    graded = grader.grade([path], exercise).exercise(exercise)
    failing = [c for c in graded.checks if not c.passed]
    assert failing and all(c.variant != "public" for c in failing)
    assert any(words in c.message and "passes the public seed but fails on" in c.message for c in failing), \
        [c.message for c in failing]


def test_pasted_tensors_pass_the_public_seed_only(grader, dataset, write):
    ref = model.autograd_gradients(model.setup(dataset, PUBLIC))["logits"]
    path = write("ex2.py", f"dlogits = torch.tensor({ref.tolist()!r})\n")
    with variants(grader, PUBLIC) as g:
        assert g.grade([path], 2).exercise(2).checks[0].passed
    check = grader.grade([path], 2).exercise(2).checks[0]
    assert not check.passed and check.variant.startswith("hidden") and "passes the public seed" in check.message


def test_the_report_never_shows_a_hidden_seed(grader, write):
    path = write("ex2.py", "dlogits = F.softmax(logits, 1)\ndlogits[range(32), Yb] -= 1\ndlogits /= 32\n")
    text = json.dumps(grader.grade([path], 2).to_dict())
    assert all(str(v.seed) not in text for v in HIDDEN)


def test_describe_variant_names_what_differs_and_never_the_seed():
    assert describe_variant(Variant(name="h", seed=7, batch_size=17)) == "a batch of 17 and another seed"
    assert describe_variant(Variant(name="h", seed=7, n_hidden=48)) == "48 hidden units and another seed"
    assert describe_variant(Variant(name="h", seed=7, batch_size=5, n_hidden=8)) == "a batch of 5, 8 hidden units and another seed"
    assert describe_variant(PUBLIC) == "the public sizes"
    assert all("99991" not in describe_variant(Variant(name="h", seed=99991, batch_size=b)) for b in (17, 32))


def check(status, message=""):
    return CheckResult(name="logits", status=status, message=message)


def test_merge_passes_only_when_every_variant_passes():
    a, b = Variant(name="hidden-a", seed=1, batch_size=17), Variant(name="hidden-b", seed=2, n_hidden=48)
    merged = merge_variants([(PUBLIC, [check("pass")]), (a, [check("pass")]), (b, [check("fail", "off by 2")])])
    assert merged[0].status == "fail" and merged[0].variant == "hidden-b"
    assert merged[0].message == ("passes the public seed but fails on 48 hidden units and another seed "
                                 "(hidden variant hidden-b): off by 2")
    assert merge_variants([(PUBLIC, [check("pass")]), (a, [check("pass")])])[0].status == "pass"
    public_fail = merge_variants([(PUBLIC, [check("fail", "public message")]), (a, [check("error", "x")])])[0]
    assert public_fail.status == "fail" and public_fail.message == "public message" and public_fail.variant == "public"
