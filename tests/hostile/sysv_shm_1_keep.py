# Hostile (first of two runs): System V shared memory that would outlive the run and its memory limit
# (a 64 MiB segment, touched); then answer correctly. The run has an IPC
# namespace of its own, which dies with it. Native calls (ctypes) are flagged.
# exercise: 2
# needs: root (the IPC namespace; see SECURITY.md)
# expect-status: flagged
# expect-score: 0
# expect-integrity: imports ctypes
# expect-output: segment
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
key, size = 0x42504E31, 64 << 20
shmid = libc.shmget(key, size, 0o1000 | 0o666)
if shmid >= 0:
    addr = libc.shmat(shmid, None, 0)
    if addr not in (None, ctypes.c_void_p(-1).value):
        ctypes.memset(addr, 1, size)
    print("segment", shmid)
else:
    print("segment refused", ctypes.get_errno())
dlogits = F.softmax(logits, 1)
dlogits[range(n), Yb] -= 1
dlogits /= n
