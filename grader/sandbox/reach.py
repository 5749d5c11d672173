"""Which of the lines a static scan flagged actually ran: a recording call inserted before each flagged statement.

The parent sends the flagged line numbers; the child's code gets `__bpn_reach__(line)` before the innermost
statement holding each, with that statement's line number (tracebacks unchanged), and the child sends back
the lines that ran. Code that names the recorder is treated as having run everything.
"""
from __future__ import annotations

import ast

RECORDER = "__bpn_reach__"


class Reach:
    """The recorder a run's namespace gets, and what it saw."""

    def __init__(self, lines) -> None:
        self.lines = {int(n) for n in (lines or ()) if isinstance(n, int)}
        self.ran: set[int] = set()

    def __call__(self, line: int) -> None:
        self.ran.add(line)

    def install(self, ns: dict) -> None:
        if self.lines:
            ns[RECORDER] = self

    def report(self, code: str) -> list[int] | None:
        """The flagged lines that ran (all of them when the code names the recorder); None when nothing was flagged."""
        if not self.lines:
            return None
        return sorted(self.lines if RECORDER in code else self.ran)


class _Insert(ast.NodeTransformer):
    def __init__(self, lines: set[int]) -> None:
        self.lines = lines

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        for name in ("body", "orelse", "finalbody", "handlers"):
            stmts = getattr(node, name, None)
            if isinstance(stmts, list) and stmts and isinstance(stmts[0], ast.stmt):
                setattr(node, name, [new for stmt in stmts for new in self._marked(stmt)])
        return node

    def _marked(self, stmt: ast.stmt) -> list[ast.stmt]:
        """The statement, with a recording call before it for each flagged line it holds outside its own blocks."""
        own = {n for n in self.lines if stmt.lineno <= n <= (stmt.end_lineno or stmt.lineno) and not _in_block(stmt, n)}
        calls = [ast.copy_location(ast.Expr(ast.Call(ast.Name(RECORDER, ast.Load()), [ast.Constant(n)], [])), stmt)
                 for n in sorted(own)]
        return calls + [stmt]


def _in_block(stmt: ast.stmt, line: int) -> bool:
    """The line is inside one of the statement's nested statements (which get their own recording call)."""
    for name in ("body", "orelse", "finalbody", "handlers"):
        for child in getattr(stmt, name, None) or []:
            if isinstance(child, (ast.stmt, ast.excepthandler)) and child.lineno <= line <= (child.end_lineno or child.lineno):
                return True
    return False


def instrument(tree: ast.Module, lines) -> ast.Module:
    """`tree` with a recording call before each statement holding a flagged line (tree itself when none)."""
    lines = {int(n) for n in (lines or ()) if isinstance(n, int)}
    if not lines:
        return tree
    tree = _Insert(lines).visit(tree)
    return ast.fix_missing_locations(tree)


# findings that only ask autograd (which the run-time guards refuse anyway), never a way around the guards:
# these alone may be forgiven in code that never ran
_AUTOGRAD_ONLY = ("calls .backward()", "calls .retain_grad()", "reads .grad ", "reads .grad_fn", "sets requires_grad",
                  "creates a tensor with requires_grad", "re-enables autograd", "switches autograd on",
                  "uses torch.autograd", "re-enables requires_grad")


def forgivable(finding: str) -> bool:
    """A static finding that is only a use of autograd (in code that never ran, a note rather than a flag)."""
    return finding.startswith(_AUTOGRAD_ONLY)


def unreached(found: dict, reached) -> list[int]:
    """The flagged lines (line -> finding) that never ran and are only uses of autograd; [] when the run did not say."""
    if not isinstance(reached, list):
        return []
    return sorted(line for line, what in found.items() if isinstance(line, int) and line not in reached and forgivable(what))
