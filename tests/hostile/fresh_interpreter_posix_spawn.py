# Hostile: os.posix_spawn of a shell, by a name the scan cannot read (so unflagged); the kernel refuses it.
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: Operation not permitted
# expect-output: refused
# expect-integrity: none
import os

spawn = vars(os)["".join(map(chr, [112, 111, 115, 105, 120, 95, 115, 112, 97, 119, 110]))]
dlogits = torch.zeros_like(logits)
try:
    pid = spawn("/bin/sh", ["sh", "-c", "echo escaped > /tmp/escaped"], {})
    os.waitpid(pid, 0)
except OSError as exc:
    print("refused:", exc)
    raise
