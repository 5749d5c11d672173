# Hostile: a forged record head that announces an answer of 2**60 bytes: the answer size limit, never a wait for it.
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: answer size limit
import os

for fd in range(3, 64):
    try:
        os.write(fd, bytes([0]) + (2**60).to_bytes(8, "little"))
    except OSError:
        pass
dlogits = torch.zeros_like(logits)
