# Hostile: torch.autograd.grad in a thread pool (concurrent.futures), with a leaf built by nn.Parameter.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: starts a thread
# expect-no-output: pool ran
from concurrent.futures import ThreadPoolExecutor


def steal():
    print("pool ran")
    leaf = torch.nn.Parameter(logits.detach().clone())
    return torch.autograd.grad(F.cross_entropy(leaf, Yb), leaf)[0]


dlogits = None
try:
    with ThreadPoolExecutor(1) as pool:
        dlogits = pool.submit(steal).result()
except RuntimeError as exc:
    print("pool refused:", exc)
