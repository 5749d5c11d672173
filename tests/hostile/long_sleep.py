# Hostile: a sleep far longer than the time limit.
# exercise: 2
# expect-status: timeout
# expect-score: 0
# expect-error: time limit
import time

dlogits = torch.zeros_like(logits)  # attempted: something is assigned
time.sleep(3600)
