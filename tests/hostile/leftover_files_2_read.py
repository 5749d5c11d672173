# Hostile (second of two runs, after leftover_files_1_write): look for what the first run left; then
# answer correctly. Nothing of another run is there.
# exercise: 2
# needs: root (the private mount namespace; see SECURITY.md)
# expect-status: complete
# expect-score: full
# expect-error: none
# expect-output: looked
# expect-no-output: found
import os

for place in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lock", "/dev/mqueue", "/run", "/var/crash", "/srv", "/"):
    if os.path.exists(os.path.join(place, "bpn-leftover-secret")):
        print("found", place)
print("looked")
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
