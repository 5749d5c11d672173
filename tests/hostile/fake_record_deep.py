# Hostile: a forged answer record whose metadata is nested 100,000 levels deep: an unreadable answer, a verdict.
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: its answer could not be read
import os

from safetensors.torch import save

frame = save({"dlogits": torch.zeros(3)}, metadata={"meta": "[" * 100_000 + "]" * 100_000})
for fd in range(3, 64):
    try:
        os.write(fd, bytes([0]) + len(frame).to_bytes(8, "little") + frame)
    except OSError:
        pass
dlogits = torch.zeros_like(logits)
