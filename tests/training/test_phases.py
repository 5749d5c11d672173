"""Exercise 4's phases on stderr when it is not a terminal: each phase named, progress at most every few seconds."""
from __future__ import annotations

import io

from grader.training.phases import Phases


def test_each_phase_is_named_and_progress_is_rate_limited():
    out = io.StringIO()  # not a terminal: plain lines
    say = Phases(True, stream=out, every=5.0)
    with say.phase("your training", 4000) as update:
        for step in range(0, 4000, 10):
            update({"step": step, "loss": 2.5})  # a record every few ms: too soon for a line
    with say.phase("autograd's training, to compare"):
        pass
    assert out.getvalue().splitlines() == ["exercise 4: your training (4,000 steps) ...",
                                           "exercise 4: autograd's training, to compare ..."]


def test_progress_lines_name_the_phase_step_and_loss():
    out = io.StringIO()
    with Phases(True, stream=out, every=0.0).phase("hidden variant 1 of 2", 11) as update:
        update({"step": 5, "loss": 3.25})
    assert "exercise 4: hidden variant 1 of 2: step 5/11, loss 3.2500" in out.getvalue()


def test_silent_when_progress_is_off():
    out = io.StringIO()
    with Phases(False, stream=out).phase("your training", 10) as update:
        assert update is None
    assert out.getvalue() == ""
