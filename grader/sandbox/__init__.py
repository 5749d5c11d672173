"""Running untrusted code: the warm worker, its confined children and sessions, the wire format, guards, limits, isolation.

May import the core only (exercises, data, model, compare, options, results); never a package above it.
"""
