# Hostile: an exception class whose name is a megabyte long (the message starts with it): cut like any text.
# exercise: 2
# expect-status: error
# expect-score: 0
# expect-error: more characters cut by the grader
dlogits = torch.zeros_like(logits)
raise type("E" * 1_000_000, (Exception,), {})("long")
