"""Exercise 4: the training loop in the child (loop.py) and its follow-through run (follow.py), the run and the checks
in the parent (run.py, check.py, carry.py for error carried forward, causes.py for the diagnosis), plots.

May import the core, grader.submissions, grader.sandbox and grader.diagnosis; never grader.grading, course, report or cli.
"""

CHILD_TASKS = ("grader.training.loop", "grader.training.follow")  # imported by the worker: exercise 4's loop registers with grader/sandbox/tasks.py
