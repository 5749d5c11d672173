# Hostile: ctypes through importlib.import_module, by a name built from pieces.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: imports ctypes
import importlib

native = importlib.import_module("ct" + "ypes")
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
