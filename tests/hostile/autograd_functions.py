# Hostile: torch.func.grad on a function of logits (functorch's transforms).
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: torch.func.grad() is not allowed
dlogits = None
dlogits = torch.func.grad(lambda l: F.cross_entropy(l, Yb))(logits)
