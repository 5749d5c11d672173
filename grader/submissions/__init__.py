"""Reading a student's work: a .py stub, a .py export or an .ipynb -> the code of each exercise; the integrity scan.

May import the core only; never runs the code it reads.
"""
