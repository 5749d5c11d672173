# Hostile: a forged answer record of random bytes on every open descriptor: an unreadable answer, a verdict.
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: its answer could not be read
import os

junk = os.urandom(4096)
for fd in range(3, 64):
    try:
        os.write(fd, bytes([0]) + len(junk).to_bytes(8, "little") + junk)
    except OSError:
        pass
dlogits = torch.zeros_like(logits)
