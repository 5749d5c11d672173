# Hostile: patch the grader's own modules inside the child (the comparison, the wire format).
# exercise: 2
# expect-status: flagged
# expect-score: 0
# expect-integrity: grader's own modules
import grader.compare
import grader.results
import grader.sandbox.wire

grader.compare.compare = lambda name, *args, **kwargs: grader.results.CheckResult(name=name, status="pass", score=5.0)
grader.compare.tolerance = lambda *args: float("inf")
grader.sandbox.wire.answers = lambda *args, **kwargs: {}
dlogits = torch.zeros_like(logits)
