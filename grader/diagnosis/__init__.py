"""Name the cause of a wrong gradient: wrong forms computed from the correct upstream values, generic tests, hints.

May import the core only (model, compare, exercises, results); grading and report may import it. Pure functions of
(name, answer, setup, autograd's gradients): no sandbox, no student code runs here.
"""
from grader.diagnosis.cause import Finding, diagnose, explain, matches  # noqa: F401
from grader.diagnosis.errormap import error_map  # noqa: F401
from grader.diagnosis.hints import hints_for  # noqa: F401
from grader.diagnosis.annotate import annotate  # noqa: F401
