# Hostile: exercise 1's tanh step by torch.ops.aten.tanh_backward, reached with getattr and a built name;
# the rest by hand. The kernel refuses: dhpreact and what follows it are missing.
# exercise: 1
# expect-status: flagged
# expect-score: 0
# expect-integrity: backward kernel aten::tanh_backward is not allowed
kernel = getattr(torch.ops.aten, "tanh_" + "back" + "ward")
dlogprobs = torch.zeros_like(logprobs)
dlogprobs[range(n), Yb] = -1.0 / n
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
dh = dlogits @ W2.T
dhpreact = kernel(dh, h)
