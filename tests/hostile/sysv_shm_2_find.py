# Hostile (second of two runs, after sysv_shm_1_keep): look for the first run's segment; then answer
# correctly. A new IPC namespace holds none.
# exercise: 2
# needs: root (the IPC namespace; see SECURITY.md)
# expect-status: flagged
# expect-score: 0
# expect-output: looked
# expect-no-output: found
import ctypes

libc = ctypes.CDLL(None, use_errno=True)
if libc.shmget(0x42504E31, 0, 0) >= 0:
    print("found")
print("looked")
dlogits = torch.zeros_like(logits)
