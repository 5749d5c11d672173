# Hostile: multiprocessing's spawn start method (a fresh interpreter) computes backward() in the new process.
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: starts another program
import multiprocessing

dlogits = None
try:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        dlogits = pool.apply(torch.zeros, (n, 27), {})
except Exception as exc:  # noqa: BLE001
    print("refused:", type(exc).__name__, exc)
