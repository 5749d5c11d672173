# Hostile: inference_mode(False) switches grad mode back on (as enable_grad would), under a computed flag;
# then a leaf by nn.Parameter and backward(). Refused at run time; flagged.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: inference_mode(False)
dlogits = None
with torch.inference_mode(not logits.shape):
    leaf = torch.nn.Parameter(logits.detach().clone())
    F.cross_entropy(leaf, Yb).backward()
    dlogits = leaf.grad
