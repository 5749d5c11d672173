# Hostile: os._exit(0) midway: the process is gone before it can answer.
# exercise: 1
# expect-status: error
# expect-score: 0
# expect-error: exited (code 0) before finishing
# expect-output: about to leave
import os

dlogprobs = torch.zeros_like(logprobs)
dlogprobs[range(n), Yb] = -1.0 / n
print("about to leave")
os._exit(0)
