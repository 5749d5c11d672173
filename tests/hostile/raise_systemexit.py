# Hostile: raise SystemExit midway through exercise 1. What was assigned before still counts.
# exercise: 1
# expect-status: partial
# expect-error: called exit (3)
dlogprobs = torch.zeros_like(logprobs)
dlogprobs[range(n), Yb] = -1.0 / n
dprobs = (1.0 / probs) * dlogprobs
raise SystemExit(3)
dh = None
