# Hostile: an exception whose argument is a list nested 100,000 deep (str() of it recurses past any limit).
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: before finishing
deep = []
for _ in range(100_000):
    deep = [deep]
dlogits = torch.zeros_like(logits)
raise ValueError(deep)
