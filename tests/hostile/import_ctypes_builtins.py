# Hostile: ctypes through getattr(builtins, "__import__"): neither word written as a name.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: ctypes
import builtins

native = getattr(builtins, "__imp" + "ort__")("ct" + "ypes")
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
