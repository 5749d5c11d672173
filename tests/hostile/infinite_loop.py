# Hostile: an infinite loop.
# exercise: 2
# expect-status: timeout
# expect-score: 0
# expect-error: time limit
dlogits = torch.zeros_like(logits)  # attempted: something is assigned
while True:
    pass
