# Hostile: kill the grader's worker (the parent process) and its process group; then answer correctly.
# exercise: 2
# needs: root (its verdict relies on the per-run uid and namespaces; see SECURITY.md)
# expect-status: complete
# expect-score: full
# expect-error: none
# expect-output: kill parent: refused
import os
import signal

try:
    os.kill(os.getppid(), signal.SIGKILL)
    print("kill parent: done")
except OSError as exc:
    print("kill parent: refused", exc.strerror)
try:
    os.killpg(os.getpgid(os.getppid()), signal.SIGKILL)
    print("kill parent group: done")
except OSError as exc:
    print("kill parent group: refused", exc.strerror)
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
