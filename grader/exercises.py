"""The four exercises as data: what is graded, what is given, how many points."""
from __future__ import annotations

from dataclasses import dataclass, field

# exercise 1's gradients, in the order the lecture's `cmp` lines list them (backward order)
EX1_NAMES = (
    "logprobs", "probs", "counts_sum_inv", "counts_sum", "counts", "norm_logits", "logit_maxes",
    "logits", "h", "W2", "b2", "hpreact", "bngain", "bnbias", "bnraw", "bnvar_inv", "bnvar",
    "bndiff2", "bndiff", "bnmeani", "hprebn", "embcat", "W1", "b1", "emb", "C",
)
EX4_NAMES = ("C", "W1", "b1", "W2", "b2", "bngain", "bnbias")


@dataclass(frozen=True)
class Exercise:
    """One exercise: `graded` are tensor names whose gradient d<name> the student computes."""

    id: int
    title: str
    stub: str  # file name in exercises/ and solutions/
    graded: tuple
    given: tuple = ()  # gradients handed to the student (computed by hand, never by autograd)
    points: float = 1.0  # per graded check
    blurb: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def gradient_names(self) -> tuple:
        return tuple("d" + name for name in self.graded)

    @property
    def max_score(self) -> float:
        return self.points * len(self.graded)


EXERCISES = {
    1: Exercise(1, "backprop through every variable, one by one", "ex1_backprop_one_by_one.py", EX1_NAMES,
                blurb="Backpropagate through exactly all of the variables as they are defined in the forward pass."),
    2: Exercise(2, "cross-entropy in one go", "ex2_cross_entropy.py", ("logits",), points=5.0,
                blurb="dlogits straight from the mathematical expression of the loss."),
    3: Exercise(3, "batchnorm in one go", "ex3_batchnorm.py", ("hprebn",), given=("hpreact",), points=5.0,
                blurb="dhprebn given dhpreact, backpropagating through the whole BatchNorm layer at once."),
    4: Exercise(4, "train the MLP with your own backward pass", "ex4_training.py", EX4_NAMES,
                blurb="The training loop runs on your gradients instead of loss.backward()."),
}


def get(id: int) -> Exercise:
    """The exercise with this id; ValueError for an unknown one."""
    try:
        return EXERCISES[int(id)]
    except (KeyError, ValueError):
        raise ValueError(f"there is no exercise {id!r}; exercises are 1, 2, 3 and 4") from None
