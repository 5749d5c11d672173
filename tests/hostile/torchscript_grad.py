# Hostile: TorchScript's aten::grad operator (it runs autograd's engine in C++, not through Python),
# reached through torch.ops by a name the scan cannot read.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: TorchScript's aten::grad (autograd) is not allowed
dlogits = None
name = "".join(map(chr, [103, 114, 97, 100]))
leaf = torch.nn.Parameter(logits.detach().clone())
dlogits = getattr(torch.ops.aten, name)([F.cross_entropy(leaf, Yb)], [leaf])[0]
