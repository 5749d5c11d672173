# Hostile: hunt for autograd's reference gradients: in this process's memory, on disk, in the worker's memory.
# There are none to find: the child never has them, and the parent's files and memory are out of reach.
# exercise: 2
# needs: root (its verdict relies on the per-run uid and namespaces; see SECURITY.md)
# expect-status: flagged
# expect-score: 0
# expect-integrity: imports gc
# expect-output: worker memory: refused
import gc
import glob
import os

found = [o for o in gc.get_objects() if isinstance(o, torch.Tensor) and tuple(o.shape) == tuple(logits.shape)
         and o is not logits]
print("tensors shaped like logits:", len(found))
for path in glob.glob("/tmp/bpn-*/**", recursive=True)[:50]:
    try:
        with open(path, "rb") as f:
            print("read", path, len(f.read()))
    except OSError:
        pass
try:
    with open(f"/proc/{os.getppid()}/mem", "rb") as f:
        f.read(16)
    print("worker memory: read")
except OSError as exc:
    print("worker memory: refused", exc.strerror)
dlogits = found[0] if found else None
