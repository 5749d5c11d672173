# Hostile: a 10 MB exception message (under the suite's 16 MiB answer limit): cut where it enters the grader, never
# copied whole into the JSON, the scorecard and the class page.
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: more characters cut by the grader
dlogits = torch.zeros_like(logits)
raise ValueError("x" * 10_000_000)
