# Hostile: an exception whose message holds a lone surrogate (it cannot be written as UTF-8 JSON, HTML or CSV).
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: ValueError: bad � surrogate
dlogits = torch.zeros_like(logits)
raise ValueError("bad \ud800 surrogate")
