# Hostile (first of two runs): leave files in every world-writable place for a later run to read;
# then answer correctly. Each place is private to the run (tmpfs) or read-only in its mount namespace.
# exercise: 2
# needs: root (the private mount namespace; see SECURITY.md)
# expect-status: complete
# expect-score: full
# expect-error: none
# expect-output: wrote /tmp
# expect-no-output: wrote /run/lock
# expect-no-output: wrote /var/lock
import os

for place in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue", "/run", "/var/crash", "/srv", "/"):
    try:
        with open(os.path.join(place, "bpn-leftover-secret"), "w") as f:
            f.write("a previous run's secret")
        print("wrote", place)
    except OSError as exc:
        print("refused", place, exc.strerror)
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
