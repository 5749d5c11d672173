"""A class: batch grading, records, identities, archives, rubrics, summaries, the class report, exports, platforms, Dask.

May import everything below it (grader.grading, report, training, sandbox, submissions, the core); never grader.cli.
"""
