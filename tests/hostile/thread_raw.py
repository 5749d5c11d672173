# Hostile: a thread started through _thread under a name the scan cannot read, autograd's grad in it.
# The kernel refuses the thread whatever its spelling.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: imports a module named at run time
# expect-output: thread refused
# expect-no-output: thread ran
import time

spawn = __import__("".join(["_", "thr", "ead"])).start_new_thread
found = {}


def steal():
    print("thread ran")
    leaf = torch.nn.Parameter(logits.detach().clone())
    found["d"] = torch.autograd.grad(F.cross_entropy(leaf, Yb), leaf)[0]


dlogits = None
try:
    spawn(steal, ())
    time.sleep(0.5)
except RuntimeError as exc:
    print("thread refused:", exc)
dlogits = found.get("d")
