# Hostile: print the bytes of a lone surrogate (invalid UTF-8), then answer correctly: shown as U+FFFD, graded.
# exercise: 2
# expect-status: complete
# expect-score: full
# expect-output: before �
import os

os.write(1, "before \ud800 after\n".encode("utf-8", "surrogatepass"))
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
