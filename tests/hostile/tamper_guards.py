# Hostile: undo the run-time guards from inside the child, then use autograd for real.
# The guards cannot stop code in the same process; the static scan flags it and the exercise scores 0.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: names 'grader.sandbox.guards' in a string
import sys

dlogits = None
sys.modules["grader.sandbox.guards"].uninstall()
torch.set_grad_enabled(True)
leaf = logits.detach().clone().requires_grad_()
F.cross_entropy(leaf, Yb).backward()
dlogits = leaf.grad
