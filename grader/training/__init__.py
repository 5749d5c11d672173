"""Exercise 4: the training loop in the child (loop.py), the run and the checks in the parent (run.py, check.py), plots.

May import the core, grader.submissions and grader.sandbox; never grader.grading, course, report or cli.
"""

CHILD_TASKS = ("grader.training.loop",)  # imported by the worker: registers exercise 4's loop with grader/sandbox/tasks.py
