"""What people read: the terminal table (console.py), the jinja2 scorecard and JSON (scorecard.py), check() in a notebook.

May import the core only (results, compare, model, exercises); templates only render the results' dataclasses.
"""
