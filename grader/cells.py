"""Code compiled cell by cell, as Jupyter does: a cell that does not compile fails alone, the others run.

The exercise's code is its cells joined; when it does not compile as a whole (a scratch cell with a
broken indent), each cell is parsed on its own, its lines numbered as in the code, and a cell that
does not parse becomes one statement that raises its SyntaxError when that cell runs.
"""
from __future__ import annotations

import ast


def trees(code: str, cell_starts, parse=ast.parse) -> list:
    """Each cell's tree, or the SyntaxError it raises; raises that error when the code is one cell."""
    lines = code.split("\n")
    starts = sorted({s for s in cell_starts if isinstance(s, int) and 1 <= s <= len(lines)} | {1})
    out = []
    for a, b in zip(starts, starts[1:] + [len(lines) + 1]):
        try:  # blank lines before it: its line numbers, and those its errors name, are the code's
            out.append(parse("\n" * (a - 1) + "\n".join(lines[a - 1:b - 1])))
        except SyntaxError as exc:
            out.append(exc)
    if len(out) == 1 and isinstance(out[0], SyntaxError):
        raise out[0]
    return out


def raising(exc: SyntaxError, filename: str) -> ast.stmt:
    """`raise SyntaxError(...)` on the error's line: the cell that does not compile, as one statement."""
    kind = type(exc).__name__ if type(exc).__name__ in ("IndentationError", "TabError") else "SyntaxError"
    line = exc.lineno or 1
    return ast.parse("\n" * (line - 1) + f"raise {kind}({exc.msg!r}, ({filename!r}, {line}, {exc.offset!r}, {exc.text!r}))").body[0]
