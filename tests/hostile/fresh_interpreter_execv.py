# Hostile: replace the child by a fresh interpreter (os.execv) that prints a fake verdict.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: starts another program
# expect-output: refused
import os
import sys

dlogits = torch.zeros_like(logits)
try:
    os.execv(sys.executable, [sys.executable, "-c", "print('total: 5 / 5')"])
except OSError as exc:
    print("refused:", exc)
