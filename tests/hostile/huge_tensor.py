# Hostile: return a tensor far larger than any gradient (100 million elements).
# exercise: 2
# expect-status: incorrect
# expect-score: 0
# expect-check: more than the limit of
dlogits = torch.zeros(100_000_000)
