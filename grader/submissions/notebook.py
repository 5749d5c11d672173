"""Read one cell of a student's work: neutralise IPython syntax, see what it assigns, cut out exercise 4's backward block."""
from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass

from grader.exercises import EX1_NAMES, EX4_NAMES

EX1_GRADS = tuple("d" + name for name in EX1_NAMES)
EX4_GRADS = tuple("d" + name for name in EX4_NAMES)
GRADED = {1: EX1_GRADS, 2: ("dlogits",), 3: ("dhprebn",), 4: EX4_GRADS}
EX4_WRITES = frozenset(EX4_GRADS) | {"grads"}
ALL_WRITES = frozenset(EX1_GRADS) | {"grads"}
# the lecture's forward pass, including the forward cells of exercises 2 and 3
FORWARD = (frozenset(EX1_NAMES) - set(EX4_NAMES)) | {"loss", "loss_fast", "hpreact_fast"}
# every name the lecture (or the grader's runtime) defines around the exercises
LECTURE = FORWARD | frozenset(EX1_NAMES) | {
    "torch", "F", "plt", "nn", "random", "words", "chars", "stoi", "itos", "vocab_size", "block_size",
    "build_dataset", "n1", "n2", "Xtr", "Ytr", "Xdev", "Ydev", "Xte", "Yte", "n_embd", "n_hidden", "g",
    "parameters", "batch_size", "n", "ix", "Xb", "Yb", "max_steps", "lossi", "bnmean", "cmp", "display",
    "device", "i", "lr", "p", "t", "k", "j",
}
NON_PYTHON_MAGICS = {"bash", "sh", "script", "writefile", "file", "html", "javascript", "js", "latex",
                     "markdown", "svg", "perl", "ruby", "system", "sx"}
_MAGIC = re.compile(r"^\s*(?:[%!?]|get_ipython\(\))")
_HELP = re.compile(r"^\s*[\w.\[\]()'\"]+\?{1,2}\s*$")
_ASSIGN_MAGIC = re.compile(r"^([ \t]*[\w,][\w \t,]*+=[ \t]*)[%!].*$")
# 'Exercise 1', 'Excercise 1', 'Exercise #2', 'Ex. 3', 'ex 4', 'EXERCISE-2', 'Exercise no. 3'
_EXERCISE = r"(?:ex+[ce]*r[cs]+[ie]+[sz]e|ex\.?)[ \t]*+(?:#|no\.?|n[or]\.?|[-:])?[ \t]*+([1-4])\b"
# the patterns run in linear time: no two adjacent parts can match the same text (possessive `*+`, no `\s` across lines)
_CODE_HEADER = re.compile(r"^[ \t]*#[# \t*_]*+" + _EXERCISE, re.I | re.M)
_MD_HEADER = re.compile(r"^[#> \t*_]*+" + _EXERCISE, re.I | re.M)
_TEXT_WRITE = re.compile(r"^\s*([A-Za-z_][\w\s,]*+)(\[[^=]*\]\s*)?([-+*/@]?)=(?!=)\s*(.*)$")
_TEXT_UPDATE = re.compile(r"^\s*(lr\s*=|learning_rate\s*=|for\s+\w+\s*,\s*\w+\s+in\s+zip\(|[\w.]+\.data\s*[-+]?=)")
_LOOP_CONTROL = re.compile(r"^(\s*|.*:\s*)(?:break|continue)(\s*(?:#.*)?)$")
_LOOP_HEADER = re.compile(r"^\s*(?:async\s+)?(?:for|while)\b")


@dataclass
class Cell:
    """One cell as the student sees it: its number (None for a .py file) and where its lines start."""

    number: int | None
    kind: str  # "code", "markdown" or "raw"
    source: str
    offset: int = 0  # lines of the file before this cell (.py exports)
    group: int | None = None  # the cell Jupyter runs it in (a .py export's cells too); None: the file runs as one

    def where(self, line: int) -> tuple[int | None, int]:
        """(cell number, line) of line `line` (1-based) of this cell."""
        return (self.number, self.offset + line)


@dataclass
class Write:
    """One assignment: kind is assign, update (+=, x[i] =, x = f(x)), placeholder (None) or collect (grads = [...])."""

    name: str
    line: int
    kind: str


@dataclass(frozen=True, eq=False)
class Info:
    """What a code cell does, read from its neutralised source (shared between callers: never change one)."""

    code: str
    tree: ast.Module | None  # None when the cell does not parse
    writes: list[Write]
    loop: ast.AST | bool | None  # the training loop (True when found by text in code that does not parse)
    headers: list[tuple[int, int]]  # (line, N) of '# Exercise N' comments
    hint: int | None  # the exercise this cell's forward code leads into
    reads: set[str]

    def graded(self) -> set[str]:
        """The graded names this cell assigns (placeholders included)."""
        return {w.name for w in self.writes if w.name in ALL_WRITES}


def neutralise(source: str) -> str:
    """IPython syntax made harmless, line numbers kept: magic, shell and help lines become `pass` or blank."""
    lines = source.split("\n")
    if lines[0].lstrip().startswith("%%"):
        name = (lines[0].split() + [""])[0][2:].lower()
        lines = [""] * len(lines) if name in NON_PYTHON_MAGICS else [""] + lines[1:]
    out, continued, indent = [], False, ""
    for line in lines:
        if continued or _MAGIC.match(line) or _HELP.match(line):
            indent = indent if continued else line[: _indent(line)]
            out.append(indent + "pass" if indent else "")
            continued = line.rstrip().endswith("\\")
        else:
            magic = _ASSIGN_MAGIC.match(line)
            out.append(magic.group(1) + "None" if magic else line)
    return "\n".join(out)


def headers_of(text: str, markdown: bool = False) -> list[tuple[int, int]]:
    """(line, N) of every '# Exercise N' comment (or markdown heading), in order."""
    found, line, pos, floor = [], 1, 0, 0  # the patterns run in linear time: no two adjacent parts match the same text
    for m in (_MD_HEADER if markdown else _CODE_HEADER).finditer(text):  # lines counted from the previous match, not from the top each time
        start, prev = m.start(), text.rfind("\n", 0, m.start() - 1) + 1  # it owns blank/banner lines above it
        while floor <= prev < start and not text[prev:start - 1].strip(" \t#*_>" if markdown else " \t#*_"):
            start, prev = prev, text.rfind("\n", 0, prev - 1) + 1
        found.append((line := line + text.count("\n", pos, start), int(m.group(1))))
        pos, floor = start, m.end()
    return found


def _target_names(target: ast.AST):
    """(name, direct) for every name an assignment target binds (direct) or modifies (x[i], x.attr)."""
    if isinstance(target, ast.Name):
        yield target.id, True
    elif isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
        for elt in (target.elts if not isinstance(target, ast.Starred) else [target.value]):
            yield from _target_names(elt)
    elif isinstance(target, (ast.Subscript, ast.Attribute)):
        base = target.value
        while isinstance(base, (ast.Subscript, ast.Attribute)):
            base = base.value
        if isinstance(base, ast.Name):
            yield base.id, False


def _is_none(value: ast.AST | None) -> bool:
    """`None`, or a tuple of Nones: the starter's placeholder."""
    if isinstance(value, ast.Constant) and value.value is None:
        return True
    return isinstance(value, (ast.Tuple, ast.List)) and bool(value.elts) and all(map(_is_none, value.elts))


def names_read(node: ast.AST) -> set[str]:
    """Names loaded anywhere under `node` (ast.walk's nodes, walked without its generators: a reader's hot path)."""
    found, todo = set(), [node]
    while todo:
        n = todo.pop()
        if isinstance(n, ast.Name):
            if isinstance(n.ctx, ast.Load):
                found.add(n.id)
            continue
        for field in n._fields:
            value = getattr(n, field, None)
            if isinstance(value, ast.AST):
                todo.append(value)
            elif isinstance(value, list):
                todo.extend(v for v in value if isinstance(v, ast.AST))
    return found


_BLOCKS = ("body", "handlers", "orelse", "finalbody", "cases")  # where statements nest (never inside an expression)


def _statements(node: ast.AST, defs: bool = False):
    """Statements under `node`, in source order; inside function and class bodies too with `defs`."""
    for field in _BLOCKS:
        block = getattr(node, field, None)
        for child in block if isinstance(block, list) else ():
            if defs or not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if isinstance(child, ast.stmt):
                    yield child
                yield from _statements(child, defs)


def writes_of(node: ast.AST) -> list[Write]:
    """Every assignment in `node` (outside function bodies), in line order."""
    out = []
    for stmt in ([node] if isinstance(node, ast.stmt) else []) + list(_statements(node)):
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            read = names_read(stmt.value) if stmt.value is not None else set()
            for name, direct in (pair for target in targets for pair in _target_names(target)):
                if isinstance(stmt, ast.AugAssign) or not direct or name in read:
                    kind = "update"
                elif _is_none(stmt.value):
                    kind = "placeholder"
                elif name == "grads" and isinstance(stmt.value, (ast.List, ast.Tuple)) \
                        and all(isinstance(e, ast.Name) for e in stmt.value.elts):
                    kind = "collect"
                else:
                    kind = "assign"
                out.append(Write(name, stmt.lineno, kind))
    return sorted(out, key=lambda w: w.line)


def _text_writes(code: str) -> list[Write]:
    """Assignments found line by line, for code that does not parse."""
    out = []
    for number, line in enumerate(code.split("\n"), 1):
        m = _TEXT_WRITE.match(line) if len(line) <= 10_000 and "=" in line else None
        if m and not line.lstrip().startswith(("def ", "class ", "#")):
            bare = re.sub(r"[\s(),\[\]]", "", m.group(4).split("#")[0])
            none = bool(bare) and set(bare.split("None")) == {""}
            kind = "update" if m.group(2) or m.group(3) else "placeholder" if none else "assign"
            out += [Write(name.strip(), number, kind) for name in m.group(1).split(",") if name.strip().isidentifier()]
    return out


def _assigns_loss(stmt: ast.stmt) -> bool:
    """`loss = ...`: the end of the forward pass."""
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
    return any(isinstance(t, ast.Name) and t.id == "loss" for t in targets)


def _is_update(stmt: ast.stmt) -> bool:
    """The parameter update that ends the backward block: `lr = ...`, `for p, grad in zip(..., grads)`, `p.data += ...`."""
    if isinstance(stmt, ast.Assign) and any(getattr(t, "id", None) in ("lr", "learning_rate") for t in stmt.targets):
        return True
    if isinstance(stmt, ast.For) and "grads" in names_read(stmt.iter):
        return True
    for node in ast.walk(stmt):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
        if any(isinstance(t, ast.Attribute) and t.attr == "data" for t in targets) or \
                isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "step":
            return True
    return False


def _training_loop(tree: ast.Module) -> ast.AST | None:
    """The last (innermost) loop that computes `loss`, then gradients or an update."""
    found = None
    for loop in _statements(tree, defs=True):  # loops are statements: no need to walk the expressions
        if isinstance(loop, (ast.For, ast.While)):
            stmts = list(_statements(loop))
            grads = {w.name for w in writes_of(loop)} & EX4_WRITES or any(map(_is_update, stmts))
            if any(map(_assigns_loss, stmts)) and grads and (found is None or loop.lineno > found.lineno):
                found = loop
    return found


def _text_loop(code: str) -> bool:
    """A training loop recognised by text (the cell does not parse)."""
    return all(re.search(p, code, re.M) for p in (r"^[ \t]*+(for|while)\b.*:\s*(#.*)?$", r"^[ \t]++loss\s*=[^=]",
                                                    r"\bgrads\b|\.data\s*[-+]?=|^\s*lr\s*="))


def _hint(writes: list[Write], tree: ast.Module | None, loop) -> int | None:
    """Forward code leading into an exercise: logprobs/loss -> 1, loss_fast -> 2, hpreact_fast -> 3, the loop -> 4."""
    if loop:
        return 4
    top = {w.name for w in writes} if tree is None else {n for s in tree.body if isinstance(s, ast.Assign)
                                                         for t in s.targets for n, _ in _target_names(t)}
    return next((ex for name, ex in (("hpreact_fast", 3), ("loss_fast", 2), ("logprobs", 1), ("loss", 1))
                 if name in top), None)


def parse(code: str) -> ast.Module:
    """ast.parse(code), once per text (trailing newlines aside): a submission's exercise code is read
    by several readers (its cell, the helpers, the names, the scan, the grader's own view).

    The tree is shared: read it, never change it. SyntaxError and the rest as ast.parse raises them.
    """
    return _parse(code.rstrip("\n"))


@functools.lru_cache(maxsize=512)
def _parse(code: str) -> ast.Module:
    return ast.parse(code)


@functools.lru_cache(maxsize=2048)
def analyse(source: str) -> Info:
    """Neutralise and read one code cell.

    Cached: in a class's notebooks most cells are the lecture's own, the same text every time.
    """
    code = neutralise(source)
    try:
        tree = parse(code)
        writes, loop, reads = writes_of(tree), _training_loop(tree), names_read(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # RecursionError: too deep to parse; read as text
        tree, writes, loop, reads = None, _text_writes(code), _text_loop(code) or None, set(re.findall(r"[A-Za-z_]\w*", code))
    return Info(code, tree, writes, loop, headers_of(code), _hint(writes, tree, loop), reads)


def detect(info: Info) -> int | None:
    """The exercise a cell's assignments point to: grads or the loop -> 4, an exercise-1-only name -> 1, then 2, 3."""
    names = {w.name for w in info.writes}
    if info.loop or "grads" in names:
        return 4
    if names & (set(EX1_GRADS) - {"dlogits", "dhprebn"}) or {"dlogits", "dhprebn"} <= names:
        return 1
    return 2 if "dlogits" in names else 3 if "dhprebn" in names else None


def compatible(exercise: int | None, names: set[str]) -> bool:
    """Whether a cell assigning `names` can belong to `exercise`."""
    if exercise == 1:
        return names <= set(EX1_GRADS)
    if exercise in (2, 3):
        return GRADED[exercise][0] in names
    return exercise == 4 and bool(names & EX4_WRITES)


def after_forward(info: Info) -> int:
    """First line of an exercise cell's own code: forward-pass statements before its first gradient stay out."""
    if info.tree is None:
        return 1
    body = info.tree.body
    first = next((k for k, s in enumerate(body) if {w.name for w in writes_of(s)} & ALL_WRITES), len(body))
    forward = [s for s in body[:first] if {w.name for w in writes_of(s) if w.kind != "update"} & FORWARD
               or any(getattr(n, "attr", None) in ("backward", "retain_grad") for n in ast.walk(s))]
    if not forward:
        return 1
    last = body.index(forward[-1])
    while last + 1 < first and isinstance(body[last + 1], ast.Expr):  # print(loss_fast ...), a bare `loss`
        last += 1
    return body[last].end_lineno + 1


def _indent(line: str) -> int:
    """Width of a line's leading whitespace."""
    return len(line) - len(line.lstrip())
