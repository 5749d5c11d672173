# Hostile: print 100 MB, then answer correctly. The output is truncated, the answer graded.
# exercise: 2
# expect-status: complete
# expect-score: full
# expect-error: none
# expect-output: [output truncated at 64 KiB: output limit]
import sys

for _ in range(100):
    sys.stdout.write("spam " * 200_000)  # 1 MB a line
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
