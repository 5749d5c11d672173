# Hostile: read the grader's environment (its variables, and other processes' through /proc);
# then answer correctly. The child's environment is clean; other processes' are unreadable.
# exercise: 2
# expect-status: complete
# expect-score: full
# expect-error: none
# expect-output: environ: HOME LANG MKL_NUM_THREADS OMP_NUM_THREADS PATH TMPDIR
# expect-no-output: __SECRET__
import os

print("environ:", " ".join(sorted(os.environ)))
print(dict(os.environ))
read = 0
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            text = f.read().decode("utf-8", "replace")
        read += 1
        print(pid, text.replace("\0", " ")[:20000])
    except OSError:
        pass
print("environments read:", read)
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
