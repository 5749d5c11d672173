# Hostile: ask autograd for the answer (loss.backward(), then read .grad).
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: loss.backward() is not allowed
dlogits = torch.zeros_like(logits)
loss.backward()
dlogits = logits.grad
