"""The student's code as top-level statements: what each one writes and reads, and how they run.

Two ways to run the same statements (both inside the child):

- as written (`run_as_written`): as Jupyter runs a notebook. Cells run one after another; a
  statement that raises ends its cell, not the exercise. A gradient that was finished (its last
  statement had run) and is changed later (`dhprebn = dbndiff` then `dhprebn += ...` changes
  `dbndiff` too) is noticed, with the line that changed it.
- follow-through (`run_follow_through`): every statement runs, whatever raised before. When a
  gradient's last statement has run, its value is kept as the student's answer *given right
  inputs*, and the name is bound to the correct value before any later statement reads it; a
  statement that raises gets the correct values of what it should have assigned. Correct values
  come from `correct(name)`, computed only when needed, so a gradient's own correct value exists
  in the child only after its last statement ran.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from grader import cells

WATCH_NUMEL = 1 << 20  # gradients are small; a huge "answer" is not copied (it fails as too large anyway)
INPLACE_SUFFIX = "_"  # x.add_(...), x.index_add_(...), x.zero_(): tensor methods that change x


@dataclass
class Statement:
    """One top-level statement of the student's code."""

    node: ast.stmt
    code: object  # its compiled code object
    writes: frozenset
    reads: frozenset

    @property
    def lineno(self) -> int:
        return self.node.lineno

    @property
    def end_lineno(self) -> int:
        return getattr(self.node, "end_lineno", None) or self.node.lineno


def _base_name(node) -> str | None:
    """x for `x`, `x[i]`, `x.data`, `x[i][j]`."""
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _targets(target) -> list:
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for t in target.elts for n in _targets(t)]
    name = _base_name(target)
    return [name] if name else []


def _walk(node: ast.AST) -> list:
    """The nodes ast.walk(node) yields (in another order), found without its generators: a hot path of every run."""
    out, todo = [], [node]
    while todo:
        n = todo.pop()
        out.append(n)
        for field in n._fields:
            value = getattr(n, field, None)
            if isinstance(value, ast.AST):
                todo.append(value)
            elif isinstance(value, list):
                for v in value:
                    if isinstance(v, ast.AST):
                        todo.append(v)
    return out


def writes_of(stmt: ast.stmt, nodes: list | None = None) -> frozenset:
    """Every name a statement may change: assignments, `x[i] = ...`, `x += ...`, `x.add_(...)`, loops, withs.

    `nodes`: _walk(stmt), when the caller has it already."""
    out = set()
    for node in _walk(stmt) if nodes is None else nodes:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                out.update(_targets(t))
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.target is not None:
            out.update(_targets(node.target))
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            out.update(_targets(node.target))
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            out.update(_targets(node.optional_vars))
        elif isinstance(node, ast.NamedExpr):
            out.update(_targets(node.target))
        elif isinstance(node, ast.Delete):
            for t in node.targets:
                out.update(_targets(t))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr.endswith(INPLACE_SUFFIX) and not node.func.attr.startswith("_")):
            name = _base_name(node.func.value)
            if name:
                out.add(name)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
    return frozenset(out)


def reads_of(stmt: ast.stmt, nodes: list | None = None) -> frozenset:
    """Every plain name a statement loads (its own function bodies included); `nodes` as for writes_of."""
    return frozenset(n.id for n in (_walk(stmt) if nodes is None else nodes)
                     if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))


def _named(stmt: ast.stmt, code) -> "Statement":
    nodes = _walk(stmt)
    return Statement(stmt, code, writes_of(stmt, nodes), reads_of(stmt, nodes))


def parse(code: str, filename: str, reach: tuple = (), cell_starts=(1,)) -> list[Statement]:
    """The code's top-level statements, compiled one by one; SyntaxError as Python raises it.

    `reach`: flagged lines that get a recording call before them (grader/sandbox/reach.py). `cell_starts`:
    code that does not compile as a whole is compiled cell by cell, as Jupyter does (grader/cells.py)."""
    try:
        trees = [ast.parse(code, filename)]
    except SyntaxError as whole:
        try:
            trees = [t if isinstance(t, ast.AST) else ast.Module([cells.raising(t, filename)], type_ignores=[])
                     for t in cells.trees(code, cell_starts)]
        except SyntaxError:
            raise whole from None  # one cell: Python's own error, as it was
    if reach:
        from grader.sandbox import reach as reach_lines

        trees = [reach_lines.instrument(tree, reach) for tree in trees]
    return [_named(stmt, compile(ast.Module([stmt], type_ignores=[]), filename, "exec")) for t in trees for stmt in t.body]


def parse_quietly(code: str, parse=ast.parse, cell_starts=(1,)) -> list[Statement]:
    """The statements with what they write and read, not compiled (the parent's view); [] if it does not parse.

    `parse`: the parser (the parent passes its cached one, grader/submissions/notebook.py's); `cell_starts`:
    as for parse(): a cell that does not parse is left out, the others kept."""
    try:
        try:
            trees = [parse(code)]
        except SyntaxError:
            trees = cells.trees(code, cell_starts, parse)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return [_named(stmt, None) for t in trees if isinstance(t, ast.AST) for stmt in t.body]


def last_writers(statements: list[Statement], names) -> dict:
    """gradient name (without d) -> index of the last statement that writes d<name>."""
    last, keys = {}, {"d" + name for name in names}
    for i, st in enumerate(statements):
        if st.writes.isdisjoint(keys):
            continue
        for name in names:
            if "d" + name in st.writes:
                last[name] = i
    return last


def aliases(statements: list[Statement], names) -> dict:
    """name -> line of a later `x = d<name>` (a second name for the same tensor, no copy) after d<name> is finished."""
    last, out = last_writers(statements, names), {}
    for name, i in last.items():
        for st in statements[i + 1:]:
            node = st.node
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id == "d" + name
                    and any(isinstance(t, ast.Name) for t in node.targets)):
                out[name] = st.lineno
                break
    return out


def writer_lines(statements: list[Statement], name: str, key: str | None = None) -> list[int]:
    """The lines that write d<name> (or `key`: the student's own name for it, ExerciseCode.renamed), in order: a
    simple statement's first line, or inside a loop or an `if` the line of each inner statement that writes it
    (`dC[ix] += demb[k, j]`, not `for k in ...`)."""
    key, lines = key or "d" + name, []
    for st in statements:
        if key not in st.writes:
            continue
        if isinstance(st.node, (ast.For, ast.AsyncFor, ast.While, ast.If, ast.With, ast.AsyncWith, ast.Try)):
            inner = sorted({node.lineno for node in ast.walk(st.node) if isinstance(node, ast.stmt)
                            and node is not st.node and not hasattr(node, "body") and key in writes_of(node)})
            lines.extend(inner or [st.lineno])
        else:
            lines.append(st.lineno)
    return lines


def cell_of(lineno: int, cell_starts: list[int]) -> int:
    """Index of the cell holding `lineno`, given each cell's first line (sorted)."""
    index = 0
    for i, start in enumerate(cell_starts):
        if lineno >= start:
            index = i
    return index


@dataclass
class Watch:
    """Finished gradients and whether a later statement changed them (an alias, an in-place update)."""

    seen: dict = field(default_factory=dict)  # key -> (object, its _version, a copy of its value)
    changed: dict = field(default_factory=dict)  # name -> line of the statement that changed it

    def finish(self, name: str, ns: dict) -> None:
        value = ns.get("d" + name)
        if _is_tensor(value) and value.numel() <= WATCH_NUMEL:
            self.seen[name] = ("d" + name, value, value._version, value.detach().clone())

    def check(self, ns: dict, lineno: int) -> None:
        moved = [name for name, (key, obj, version, _) in self.seen.items()
                 if ns.get(key) is not obj or obj._version != version]  # after every statement: only the cheap test
        for name in moved:
            key, _, _, copy = self.seen.pop(name)
            now = ns.get(key)
            same = _is_tensor(now) and now.shape == copy.shape and now.dtype == copy.dtype and bool((now == copy).all())
            if not same and name not in self.changed:
                self.changed[name] = lineno


def _is_tensor(value) -> bool:
    import torch

    return type(value) is torch.Tensor or isinstance(value, torch.Tensor)


def run_as_written(statements: list[Statement], ns: dict, graded, cell_starts: list[int], execute) -> dict:
    """Run the statements as Jupyter would; `execute(statement)` runs one and returns an error dict or None.

    Returns {"errors": [...], "changed": {name: [last line, line that changed it]}}.
    """
    last = last_writers(statements, graded)
    finishing = {}
    for name, i in last.items():
        finishing.setdefault(i, []).append(name)
    watch, errors, skip_cell = Watch(), [], None
    for i, st in enumerate(statements):
        cell = cell_of(st.lineno, cell_starts)
        if skip_cell == cell:
            continue  # an earlier statement of this cell raised: Jupyter does not run the rest of the cell
        skip_cell = None
        error = execute(st)
        if error is not None and not error.get("integrity"):
            errors.append(error)
            skip_cell = cell
        watch.check(ns, st.lineno)
        for name in finishing.get(i, ()):
            if error is None:
                watch.finish(name, ns)
    changed = {name: [statements[last[name]].lineno, line] for name, line in watch.changed.items()}
    return {"errors": errors, "changed": changed}


def lazily(steps):
    """correct(name) from a generator of (name, value) in backprop order: advanced as far as `name` and no further
    (so a value exists only once it is asked for, each computed once), a fresh copy each time."""
    known = {}

    def correct(name: str):
        while name not in known:
            step = next(steps, None)
            if step is None:
                raise KeyError(name)
            known[step[0]] = step[1]
        return known[name].clone()

    return correct


def run_follow_through(statements: list[Statement], ns: dict, graded, order: tuple, correct, execute) -> dict:
    """Run every statement with right inputs (see the module's docstring); the answers are in the result.

    `order`: the gradients in backprop order (a statement may be given the correct value of a
    gradient the code never writes only when that gradient comes before every one it writes).
    Returns {"answers": {name: tensor or value}, "raised": {name: [line, type]}, "changed": {name: line}}.
    """
    last = last_writers(statements, graded)
    rank = {name: i for i, name in enumerate(order)}
    never = [name for name in graded if name not in last]
    answers, raised, changed = {}, {}, {}
    bound: dict = {}  # name -> (the correct tensor bound to d<name>, its _version then)
    finished: set = set()

    def bind(name: str) -> None:
        value = correct(name)
        ns["d" + name] = value
        bound[name] = (value, value._version)

    for i, st in enumerate(statements):
        mine = [name for name in graded if "d" + name in st.writes]
        floor = min((rank.get(name, len(order)) for name in mine), default=len(order))
        for name in never:  # upstream inputs the student never wrote, when this statement reads them
            if "d" + name in st.reads and "d" + name not in ns and rank.get(name, len(order)) < floor:
                bind(name)
        error = execute(st)
        for name, (value, version) in list(bound.items()):
            if ns.get("d" + name) is not value or value._version != version:
                if name in finished:
                    changed.setdefault(name, st.lineno)  # a finished gradient changed afterwards: an alias
                bind(name)  # later statements still read the correct value
        if error is not None:
            for name in mine:
                raised.setdefault(name, [st.lineno, str(error.get("type", "Exception"))])
        else:  # assigned afresh after a statement for it raised: the last one counts, as in the run as written
            for name in mine:
                if name in raised and _assigns_afresh(st, "d" + name):
                    del raised[name]
        for name in mine:
            if last[name] == i:
                if name not in raised:
                    answers[name] = _keep(ns.get("d" + name, _MISSING))
                finished.add(name)
                bind(name)
            elif error is not None:
                bind(name)  # what the raising statement should have assigned
    return {"answers": {k: v for k, v in answers.items() if v is not _MISSING}, "raised": raised, "changed": changed}


_MISSING = object()


def _assigns_afresh(st: Statement, name: str) -> bool:
    """`name = ...` that does not read `name`: what came before it no longer matters."""
    return (isinstance(st.node, ast.Assign) and name not in st.reads
            and any(isinstance(t, ast.Name) and t.id == name for t in st.node.targets))


def _keep(value):
    """The student's answer as it is now (a later statement may change the same tensor in place)."""
    try:
        return value.detach().clone() if _is_tensor(value) else value
    except Exception:  # noqa: BLE001 - a hostile tensor subclass: wire.describe judges it as it is
        return value
