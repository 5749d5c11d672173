# Hostile: a new instance of autograd's engine (not the one the guards replaced), from sys.modules.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: autograd's engine (run_backward) is not allowed
import sys

leaf = torch.nn.Parameter(logits.detach().clone())
out = F.cross_entropy(leaf, Yb)
engine = vars(sys.modules["torch.autograd.variable"])["Imperative" + "Engine"]()
dlogits = engine.run_backward((out,), (torch.ones(()),), False, False, (leaf,), True, False)[0]
