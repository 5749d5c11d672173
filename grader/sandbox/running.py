"""Running the student's statements in a namespace, inside the child: as written (cells, as Jupyter
runs them) or follow-through (grader/sandbox/statements.py), and an exception as data."""
from __future__ import annotations

import ast
import traceback

from grader.sandbox import guards, progress, statements as statements_mod, wire

STUDENT_FILE = progress.STUDENT_FILE
_len = len  # the student's code may replace builtins.len; this module's code runs between its statements


def student_error(exc: BaseException, code: str, ns: dict) -> dict:
    """An exception in the student's code as data: type, message, the student's own line number."""
    lineno = None
    if isinstance(exc, SyntaxError) and exc.filename == STUDENT_FILE:
        lineno = exc.lineno
    for frame, line in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename == STUDENT_FILE:
            lineno = line
    text = str(exc.msg if isinstance(exc, SyntaxError) and exc.msg else exc).strip().splitlines()  # no "(<file>, line N)"
    message, undefined = f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": "), None
    if isinstance(exc, NameError) and getattr(exc, "name", None) and exc.name not in ns:
        message = f"uses `{exc.name}`, which the lecture's forward pass does not define ({type(exc).__name__})"
        undefined = str(exc.name)[:200]  # the parent may say more: assigned further down (grader/verdicts.py)
    if isinstance(exc, SystemExit):
        message = f"called exit ({exc.code!r}) before finishing: code after it did not run"
    if isinstance(exc, guards.IntegrityError):
        message = str(exc)
    if _len(message) > wire.META_TEXT:  # bounded here: the run's answer carries it more than once
        message = f"{message[:wire.META_TEXT]}\n[... {_len(message) - wire.META_TEXT:,} more characters cut by the grader]"
    return {"type": type(exc).__name__[:200], "message": message, "lineno": lineno, "undefined": undefined,
            "integrity": isinstance(exc, guards.IntegrityError)}


def _executor(code: str, ns: dict, warnings: list, integrity: list):
    """execute(statement) -> the error that stops its cell, or None (see run_code)."""
    def execute(st) -> dict | None:
        try:
            exec(st.code, ns)
        except BaseException as exc:  # noqa: BLE001 - the student's failure is data, whatever it is
            err = student_error(exc, code, ns)
            if err["integrity"]:
                integrity.append(err)
                return err
            if isinstance(st.node, ast.Expr) and isinstance(exc, Exception):
                err["lineno"] = st.lineno  # the call the student wrote, not the inside of their helper
                warnings.append(err)
                return None
            return err
        return None
    return execute


def run_code(code: str, ns: dict, compiled: dict | None = None, graded=(), cell_starts=(1,),
             reach: tuple = ()) -> tuple[dict | None, list[dict]]:
    """Execute the student's code in `ns` as Jupyter would: cells in turn, statement by statement.

    Returns (error, warnings): the first error (or use of autograd), with every error and the
    gradients changed after they were finished in error["all"] / the run's meta (see run_cells).
    A failing statement that assigns nothing (a `cmp(...)` or `print` call of the student's own)
    is a warning and the code goes on; any other failure ends its cell. A call of autograd is
    flagged but does not stop the rest from being graded.
    """
    error, warnings, _ = run_cells(code, ns, compiled, graded, cell_starts, reach)
    return error, warnings


def run_cells(code: str, ns: dict, compiled: dict | None, graded, cell_starts,
              reach: tuple = ()) -> tuple[dict | None, list, dict]:
    """run_code's work: (first error, warnings, {"errors": [...], "changed": {...}})."""
    key = (code, tuple(reach), tuple(cell_starts))
    try:
        statements = compiled[key] if compiled is not None and key in compiled else \
            statements_mod.parse(code, STUDENT_FILE, reach, cell_starts)
    except SyntaxError as exc:
        err = student_error(exc, code, ns)
        return err, [], {"errors": [err], "changed": {}}
    if compiled is not None:
        compiled[key] = statements
    warnings, integrity = [], []
    ran = statements_mod.run_as_written(statements, ns, graded, sorted(set(cell_starts) | {1}),
                                        _executor(code, ns, warnings, integrity))
    first = integrity[0] if integrity else (ran["errors"][0] if ran["errors"] else None)
    return first, warnings, ran


def follow_through(code: str, ns: dict, graded, correct, compiled: dict | None = None, cell_starts=(1,)) -> dict:
    """The follow-through run (grader/sandbox/statements.py): answers given right inputs, what raised, what changed."""
    key = (code, (), tuple(cell_starts))
    try:
        statements = compiled[key] if compiled is not None and key in compiled else \
            statements_mod.parse(code, STUDENT_FILE, (), cell_starts)
    except SyntaxError as exc:
        return {"answers": {}, "raised": {}, "changed": {}, "syntax": [exc.lineno, "SyntaxError"]}
    warnings, integrity = [], []
    from grader.exercises import EX1_NAMES

    out = statements_mod.run_follow_through(statements, ns, graded, EX1_NAMES, correct,
                                            _executor(code, ns, warnings, integrity))
    out["integrity"] = bool(integrity)
    return out
