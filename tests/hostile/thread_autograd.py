# Hostile: autograd in a new thread, where grad mode is on again: a leaf made with nn.Parameter, the
# engine reached through sys.modules. Threads are refused by the kernel (seccomp), the engine by the
# sealed worker (grader/sandbox/kernels.py); the scan flags the thread.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: starts a thread
# expect-no-output: thread ran
import sys
import threading

dlogits = None
found = {}


def steal():
    print("thread ran")
    leaf = torch.nn.Parameter(logits.detach().clone())
    out = F.cross_entropy(leaf, Yb)
    engine = sys.modules["torch.autograd.variable"].ImperativeEngine()
    found["d"] = engine.run_backward((out,), (torch.ones(()),), False, False, (leaf,), True, False)[0]


worker = threading.Thread(target=steal)
try:
    worker.start()
    worker.join()
except RuntimeError as exc:
    print("thread refused:", exc)
dlogits = found.get("d")
