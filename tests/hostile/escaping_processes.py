# Hostile: start processes that leave the process group (setsid, double fork) and outlive the run;
# then answer correctly. Every one of them is killed; the answer gets full marks.
# exercise: 2
# expect-status: complete
# expect-score: full
# expect-error: none
# expect-output: escapees:
import os
import time

dlogits = None
escapees = []
for _ in range(8):
    try:
        child = os.fork()
    except OSError:
        break
    if child == 0:
        os.setsid()
        if os.fork() == 0:  # the grandchild: no parent, no group, sleeps on
            time.sleep(3600)
        os._exit(0)
    os.waitpid(child, 0)
# the sleepers' pids, as seen from here (each is a fresh session leader's child)
escapees = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and p != str(os.getpid())
                  and os.stat(f"/proc/{p}").st_uid == os.getuid())
print("uid:", os.getuid(), "escapees:", " ".join(map(str, escapees)))
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
