"""The speed note: "about as fast" within the pairs' spread, a slow line named only when clearly (>= 2x) slower."""
from __future__ import annotations

from grader.submissions.reader import ExerciseCode
from grader.training.feedback import speed, speed_note
from grader.training.run import StudentRun

CODE = "demb = dembcat.view(emb.shape)\ndC = torch.zeros_like(C)\nfor k in range(Xb.shape[0]):\n  dC[Xb[k]] += demb[k]\n"


def note(pairs) -> str:
    return speed_note(StudentRun(pairs=pairs), ExerciseCode(4, CODE, "ex4.py", [(None, k) for k in range(1, 6)]))


def test_the_reference_against_itself_is_about_as_fast_whatever_the_noise():
    noisy = [[0.40, 0.27], [0.25, 0.41], [0.30, 0.31], [0.52, 0.30], [0.28, 0.44], [0.33, 0.33]]
    assert note(noisy).startswith("speed: your backward block is about as fast as the reference's")
    assert speed(StudentRun(pairs=noisy))["pairs"] == 6


def test_a_slow_line_is_named_only_when_even_the_faster_pairs_are_twice_as_slow():
    clearly = [[1.4 + 0.1 * k, 0.33] for k in range(8)]
    text = note(clearly)
    assert "slower than the reference's" in text and "the Python loop at line 3 (`for k in range(Xb.shape[0]):`)" in text
    mixed = [[0.9, 0.33], [0.5, 0.33], [0.95, 0.33], [0.55, 0.33], [0.9, 0.3], [0.52, 0.33]]  # 1.5x-2.9x
    text = note(mixed)
    assert "slower than the reference's" in text and "usual cause" not in text


def test_no_pairs_no_note():
    assert note([]) == "" and note([[1.0, 1.0]]) == ""
