# Hostile: sys.exit(0) halfway through exercise 1. What was assigned before still counts.
# exercise: 1
# expect-status: partial
# expect-error: called exit (0)
# expect-check: dh was never assigned
import sys

dlogprobs = torch.zeros_like(logprobs)
dlogprobs[range(n), Yb] = -1.0 / n
dprobs = (1.0 / probs) * dlogprobs
dcounts_sum_inv = (counts * dprobs).sum(1, keepdim=True)
sys.exit(0)
dh = None
