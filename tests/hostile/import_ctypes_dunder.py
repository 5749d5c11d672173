# Hostile: ctypes through __import__ (only `import ctypes` was flagged); the answer is otherwise right.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: ctypes
libc = __import__("ctypes").CDLL(None)
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
