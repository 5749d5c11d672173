# Hostile: call backward through a name built from strings, so that `.backward` never appears.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: backward
dlogits = None
getattr(loss, "back" + "ward")()
dlogits = getattr(logits, "gr" + "ad")
