"""Three hints per gradient, as data, that never give the reference line away."""
from __future__ import annotations

import re
from pathlib import Path

from grader.diagnosis import hints_for
from grader.exercises import EXERCISES

ROOT = Path(__file__).resolve().parents[2]


def test_every_graded_gradient_has_three_hints():
    for ex in EXERCISES.values():
        for name in ex.graded:
            hints = hints_for(ex.id, name)
            assert len(hints) == 3 and all(len(h) > 20 for h in hints), (ex.id, name)
    assert hints_for(2, "logits") != hints_for(1, "logits")  # exercise 2's dlogits is the fused one
    assert hints_for(4, "hprebn") == hints_for(3, "hprebn")
    assert hints_for(1, "nonexistent") == []


def test_no_hint_contains_a_reference_solution_line():
    squash = lambda s: re.sub(r"\s+", "", s)  # noqa: E731
    answers = {}
    for stub in ("ex1_backprop_one_by_one.py", "ex2_cross_entropy.py", "ex3_batchnorm.py"):
        for line in (ROOT / "solutions" / stub).read_text().splitlines():
            m = re.match(r"\s*(d\w+)\s*[-+*/]?=\s*(.+)", line)
            if m and len(m.group(2)) > 6:
                answers.setdefault(m.group(1)[1:], []).append(squash(m.group(2)))
    for ex in EXERCISES.values():
        for name in ex.graded:
            text = squash(" ".join(hints_for(ex.id, name)))
            leaked = [a for a in answers.get(name, []) if a in text]
            assert not leaked, (ex.id, name, leaked)
