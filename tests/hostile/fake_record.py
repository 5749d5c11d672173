# Hostile: write a forged answer record to every open descriptor (the result pipe among them), its metadata of the
# wrong types (warnings not a list, an error whose line is a list and message an object): read as data, a verdict.
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: somewhere in your code
import json
import os

from safetensors.torch import save

meta = {"values": {"dlogits": {"kind": "tensor"}}, "warnings": 5,
        "error": {"type": 5, "lineno": [1], "message": {"a": "\ud800" * 3}, "integrity": "yes"}}
frame = save({"dlogits": torch.zeros(3)}, metadata={"meta": json.dumps(meta)})
for fd in range(3, 64):
    try:
        os.write(fd, bytes([0]) + len(frame).to_bytes(8, "little") + frame)
    except OSError:
        pass
dlogits = torch.zeros_like(logits)
