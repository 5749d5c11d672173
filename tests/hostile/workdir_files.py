# Hostile: fill the disk, litter the shared temporary directories, delete the working directory;
# then answer correctly. Writes hit the file size limit; nothing survives the run.
# exercise: 2
# expect-status: complete
# expect-score: full
# expect-error: none
# expect-output: big file stopped: [Errno
# expect-output: workdir deleted
import os
import shutil

try:
    with open("big.bin", "wb") as f:
        for _ in range(1024):
            f.write(b"\0" * (1 << 20))  # up to 1 GiB
    print("big file written")
except OSError as exc:
    print("big file stopped:", exc)
for place in ("/tmp", "/var/tmp", "/dev/shm"):
    try:
        with open(os.path.join(place, "bpn-hostile-litter"), "w") as f:
            f.write("left behind")
    except OSError as exc:
        print("litter", place, exc)
here = os.getcwd()
os.chdir("/")
shutil.rmtree(here)
print("workdir deleted:", not os.path.exists(here))
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
