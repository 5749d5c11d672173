"""Exercise 4: the training loop in the child (loop.py), the run and the checks in the parent (run.py, check.py), plots.

May import the core, grader.submissions and grader.sandbox; never grader.grading, course, report or cli.
"""

CHILD_TASKS = ("grader.training.loop", "grader.training.follow")  # imported by the worker: exercise 4's loop registers with grader/sandbox/tasks.py
