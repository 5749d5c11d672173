# Hostile: read .grad without calling backward (the tensors carry none).
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: reads .grad
dlogits = logits.grad
