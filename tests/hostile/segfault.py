# Hostile: a segfault in native code (ctypes reads address 0).
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-error: SIGSEGV
# expect-integrity: ctypes
import ctypes

dlogits = torch.zeros_like(logits)
ctypes.string_at(0)
