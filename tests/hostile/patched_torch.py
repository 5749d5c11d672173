# Hostile: patch torch's comparisons so that anything equals anything. They run in the parent, untouched.
# exercise: 2
# expect-status: incorrect
# expect-score: 0
# expect-integrity: none
torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
torch.Tensor.__sub__ = lambda self, other: torch.zeros_like(self)
torch.Tensor.abs = lambda self: torch.zeros_like(self)
dlogits = torch.zeros_like(logits)
