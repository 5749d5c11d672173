# Hostile: close every file descriptor (the grader's pipes among them), then answer correctly.
# The answer cannot be sent back: the run ends without one, and says so.
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: exited (code 70) before finishing
import os

os.closerange(0, 1024)
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
