# Hostile: the classic fork bomb.
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: process limit
import os

dlogits = torch.zeros_like(logits)  # attempted: something is assigned
while True:
    os.fork()
