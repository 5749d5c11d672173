"""Exams: hidden seeds from the rubric; public runs first; nothing a hidden run produced reaches a student."""
import json
from pathlib import Path

import pytest

from grader.course.rubric import RubricError, load_rubric
from grader.grading import Grader
from grader.options import HIDDEN

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "solutions"


def rubric(tmp_path, text):
    path = tmp_path / "exam.toml"
    path.write_text(text)
    return load_rubric(path)


def test_seeds_from_the_rubric_replace_the_public_ones(tmp_path):
    options = rubric(tmp_path, "[variants]\nseeds = [918273645, 5550123, 77441]\n")
    hidden = options.variants[1:]
    assert [v.seed for v in hidden] == [918273645, 5550123, 77441] and options.private_variants
    assert [v.batch_size for v in hidden] == [HIDDEN[0].batch_size, HIDDEN[1].batch_size, HIDDEN[0].batch_size]
    assert not {v.seed for v in hidden} & {v.seed for v in HIDDEN}
    for bad in ("seeds = []", "seeds = [1.5]", "seeds = ['x']", "seeds = 3"):
        with pytest.raises(RubricError, match="seeds"):
            rubric(tmp_path, f"[variants]\n{bad}\n")


def test_every_public_run_comes_before_any_hidden_run(grader, tmp_path):
    """Runs of one submission share a child: what a hidden run could leave there must never reach a public run."""
    stash = "torch._seen = getattr(torch, '_seen', []) + [int(n)]\nprint('seen', torch._seen)\n"
    (tmp_path / "ex3_batchnorm.py").write_text((SOLUTIONS / "ex3_batchnorm.py").read_text() + "\n" + stash)
    (tmp_path / "ex2_cross_entropy.py").write_text((SOLUTIONS / "ex2_cross_entropy.py").read_text() + "\n" + stash)
    result = grader.grade([tmp_path])
    for ex_id in (2, 3):
        seen = [line for line in result.exercise(ex_id).output.splitlines() if line.startswith("seen")]
        assert seen and "17" not in seen[0], seen  # a batch of 17 is hidden-1's
    assert result.exercise(2).score == 5 and result.exercise(3).score == 5


def test_a_hidden_failure_under_private_seeds_says_nothing_the_code_produced(names_path, tmp_path):
    # passes the public run; on a hidden run it encodes the seed-dependent data in its answer and its exception
    code = ("dlogits = F.softmax(logits, 1)\ndlogits[range(n), Yb] -= 1\ndlogits /= n\n"
            "if n != 32:\n    dlogits[0, 0] += float(Xb.sum()) * 1e-3\n")
    raising = "dlogits = F.softmax(logits, 1)\nif n != 32:\n    raise ValueError('SEED %d' % int(Xb.sum()))\n" \
              "dlogits[range(n), Yb] -= 1\ndlogits /= n\n"
    options = rubric(tmp_path, "[variants]\nseeds = [918273645, 5550123]\n")
    with Grader(names_path, options) as grader:
        for i, text in enumerate((code, raising)):
            path = tmp_path / f"ex2_{i}.py"
            path.write_text(text)
            result = grader.grade([path], exercise=2)
            check = result.exercise(2).checks[0]
            assert check.status != "pass" and check.variant == "hidden-1"
            assert check.message.endswith(("its values are wrong there", "your code raised an error or stopped there"))
            blob = json.dumps(result.to_dict())
            assert "SEED" not in blob and "918273645" not in blob and "differs from autograd" not in blob
