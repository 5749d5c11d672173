# Hostile: torch.autograd.grad and torch.autograd.functional on a rebuilt loss.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: torch.autograd.functional.jacobian() is not allowed
dlogits = None
dlogits = torch.autograd.functional.jacobian(lambda l: F.cross_entropy(l, Yb), logits)
