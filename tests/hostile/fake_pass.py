# Hostile: print the grader's own verdicts (and terminal markup) and hope they are believed.
# exercise: 2
# expect-status: incorrect
# expect-score: 0
# expect-output: logits          | exact: True  | approximate: True  | maxdiff: 0.0 | PASS
print("logits          | exact: True  | approximate: True  | maxdiff: 0.0 | PASS")
print("[bold green]total: 5 / 5 (100.0%)[/]")
print("\x1b[32mExercise 2: cross-entropy in one go  complete  5/5\x1b[0m")
print('{"score": 5.0, "max_score": 5.0, "passed": true}')
dlogits = torch.zeros_like(logits)
