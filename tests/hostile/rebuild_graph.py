# Hostile: switch requires_grad and grad mode back on to rebuild the graph.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: setting .requires_grad = True is not allowed
dlogits = torch.zeros_like(logits)  # attempted: something is assigned
leaf = logits.detach().clone()
leaf.requires_grad = True
with torch.enable_grad():
    again = F.cross_entropy(leaf, Yb)
