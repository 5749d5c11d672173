"""Read a student's cells: neutralise IPython syntax, see what each cell assigns, cut out exercise 4's backward block."""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from .exercises import EX1_NAMES, EX4_NAMES

EX1_GRADS = tuple("d" + name for name in EX1_NAMES)
EX4_GRADS = tuple("d" + name for name in EX4_NAMES)
GRADED = {1: EX1_GRADS, 2: ("dlogits",), 3: ("dhprebn",), 4: EX4_GRADS}
EX4_WRITES = frozenset(EX4_GRADS) | {"grads"}
ALL_WRITES = frozenset(EX1_GRADS) | {"grads"}
# the lecture's forward pass, including the forward cells of exercises 2 and 3
FORWARD = (frozenset(EX1_NAMES) - set(EX4_NAMES)) | {"loss", "loss_fast", "hpreact_fast"}
# every name the lecture defines before (or around) the exercises; a helper cell may not assign these
LECTURE = FORWARD | frozenset(EX1_NAMES) | {
    "torch", "F", "plt", "nn", "random", "words", "chars", "stoi", "itos", "vocab_size", "block_size",
    "build_dataset", "n1", "n2", "Xtr", "Ytr", "Xdev", "Ydev", "Xte", "Yte", "n_embd", "n_hidden", "g",
    "parameters", "batch_size", "n", "ix", "Xb", "Yb", "max_steps", "lossi", "bnmean", "cmp", "display",
    "device", "i", "lr", "p", "t", "k", "j",
}
NON_PYTHON_MAGICS = {"bash", "sh", "script", "writefile", "file", "html", "javascript", "js", "latex",
                     "markdown", "svg", "perl", "ruby", "system", "sx", "python2", "pypy"}
_MAGIC = re.compile(r"^(\s*)(?:[%!?]|get_ipython\(\))")
_HELP = re.compile(r"^(\s*)[\w.\[\]()'\"]+\?{1,2}\s*$")
_ASSIGN_MAGIC = re.compile(r"^(\s*[\w\s,]+=\s*)[%!].*$")
_CODE_HEADER = re.compile(r"^\s*#[#\s*_]*exercise\s*#?\s*(\d)\b", re.I | re.M)
_MD_HEADER = re.compile(r"^[#>\s*_]*exercise\s*#?\s*(\d)\b", re.I | re.M)
_LOOP_CONTROL = re.compile(r"^(\s*|.*:\s*)(?:break|continue)(\s*(?:#.*)?)$")
_LOOP_HEADER = re.compile(r"^\s*(?:async\s+)?(?:for|while)\b")


@dataclass
class Cell:
    """One cell as the student sees it: its number (None for a plain .py) and where its lines start."""

    number: int | None
    kind: str  # "code", "markdown" or "raw"
    source: str
    offset: int = 0  # lines of the file before this cell (for .py exports)

    def where(self, line: int) -> tuple[int | None, int]:
        """(cell number, line) of line `line` (1-based) of this cell."""
        return (self.number, self.offset + line)


@dataclass
class Write:
    """One assignment to a name: kind is assign, update (+=, x[i]=, x = x+...), placeholder (None) or collect."""

    name: str
    line: int
    kind: str


@dataclass
class Info:
    """What a code cell does, read from its neutralised source."""

    code: str
    tree: ast.Module | None
    error: str | None
    writes: list[Write]
    loop: ast.AST | bool | None  # the training loop (ast node; True when found by text in broken code)
    headers: list[tuple[int, int]]  # (line, N) of '# Exercise N' comments
    hint: int | None  # the exercise this cell's forward code leads into
    reads: set[str] = field(default_factory=set)

    def graded(self) -> set[str]:
        """The graded names this cell assigns (placeholders included)."""
        return {w.name for w in self.writes if w.name in ALL_WRITES}


def neutralise(source: str) -> str:
    """IPython syntax made harmless with line numbers kept: magics/shell/help lines become pass or blank."""
    lines = source.split("\n")
    first = lines[0].strip()
    if first.startswith("%%"):
        name = first[2:].split(maxsplit=1)[0].lower() if first[2:].strip() else ""
        lines = [""] * len(lines) if name in NON_PYTHON_MAGICS else [""] + lines[1:]
    out, continued = [], False
    for line in lines:
        magic = _MAGIC.match(line) or _HELP.match(line)
        if continued or magic:
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + "pass" if indent else "")
            continued = line.rstrip().endswith("\\")
        elif _ASSIGN_MAGIC.match(line):
            out.append(_ASSIGN_MAGIC.match(line).group(1) + "None")
        else:
            out.append(line)
    return "\n".join(out)


def headers_of(text: str, markdown: bool = False) -> list[tuple[int, int]]:
    """(line, N) of every '# Exercise N' comment (or markdown heading), in order."""
    found = ((text.count("\n", 0, m.start()) + 1, int(m.group(1)))
             for m in (_MD_HEADER if markdown else _CODE_HEADER).finditer(text))
    return [(line, n) for line, n in found if 1 <= n <= 4]


def _target_names(target: ast.AST):
    """(name, direct) for every name an assignment target binds or modifies."""
    if isinstance(target, ast.Name):
        yield target.id, True
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            yield from _target_names(elt)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)
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


def names_read(node: ast.AST | None) -> set[str]:
    """Names loaded anywhere under `node`."""
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _statements(node: ast.AST):
    """Statements under `node`, not descending into function or class bodies."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(child, ast.stmt):
            yield child
        yield from _statements(child)


def writes_of(node: ast.AST) -> list[Write]:
    """Every assignment under `node` (outside function bodies), in line order."""
    out = []
    for stmt in ([node] if isinstance(node, ast.stmt) else []) + list(_statements(node)):
        if isinstance(stmt, ast.Assign):
            targets, value, aug = stmt.targets, stmt.value, False
        elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
            targets, value, aug = [stmt.target], stmt.value, isinstance(stmt, ast.AugAssign)
        else:
            continue
        for target in targets:
            for name, direct in _target_names(target):
                if aug or not direct or name in names_read(value):
                    kind = "update"
                elif _is_none(value):
                    kind = "placeholder"
                elif name == "grads" and isinstance(value, (ast.List, ast.Tuple)) \
                        and all(isinstance(e, ast.Name) for e in value.elts):
                    kind = "collect"
                else:
                    kind = "assign"
                out.append(Write(name, stmt.lineno, kind))
    return sorted(out, key=lambda w: w.line)


_TEXT_WRITE = re.compile(r"^\s*([A-Za-z_][\w\s,]*?)\s*(\[.*\]\s*)?([-+*/@]?)=(?!=)\s*(.*)$")


def _text_writes(code: str) -> list[Write]:
    """Assignments found line by line, for code that does not parse."""
    out = []
    for number, line in enumerate(code.split("\n"), 1):
        m = _TEXT_WRITE.match(line)
        if not m or line.lstrip().startswith(("def ", "class ", "#")):
            continue
        value = m.group(4).split("#")[0].strip()
        for name in (s.strip() for s in m.group(1).split(",")):
            bare = re.sub(r"[\s(),\[\]]", "", value)
            if name.isidentifier():
                none = bool(bare) and set(bare.split("None")) == {""}
                out.append(Write(name, number, "update" if m.group(2) or m.group(3) else "placeholder" if none else "assign"))
    return out


def _assigns_loss(stmt: ast.stmt) -> bool:
    """`loss = ...` (the end of the forward pass)."""
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
    return any(isinstance(t, ast.Name) and t.id == "loss" for t in targets)


def _is_update(stmt: ast.stmt) -> bool:
    """The parameter update that ends the backward block: `lr = ...`, `p.data += ...`, `for p, grad in zip(...)`."""
    if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id in ("lr", "learning_rate") for t in stmt.targets):
        return True
    if isinstance(stmt, ast.For) and "grads" in names_read(stmt.iter):
        return True
    for node in ast.walk(stmt):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
        if any(isinstance(t, ast.Attribute) and t.attr == "data" for t in targets):
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "step":
            return True
    return False


def _training_loop(tree: ast.Module) -> ast.AST | None:
    """The innermost/last loop that computes `loss` and then gradients or an update."""
    found = None
    for loop in ast.walk(tree):
        if not isinstance(loop, (ast.For, ast.While)):
            continue
        stmts = list(_statements(loop))
        names = {w.name for w in writes_of(loop)}
        if any(_assigns_loss(s) for s in stmts) and (names & EX4_WRITES or any(_is_update(s) for s in stmts)):
            if found is None or loop.lineno > found.lineno:
                found = loop
    return found


def _text_loop(code: str) -> bool:
    """A training loop recognised by text (the cell does not parse)."""
    return bool(re.search(r"^\s*(for|while)\b.*:\s*(#.*)?$", code, re.M) and re.search(r"^\s+loss\s*=[^=]", code, re.M)
                and re.search(r"\bgrads\b|\.data\s*[-+]?=|^\s*lr\s*=", code, re.M))


def _hint(writes: list[Write], tree: ast.Module | None, loop) -> int | None:
    """Forward code that leads into an exercise: logprobs/loss -> 1, loss_fast -> 2, hpreact_fast -> 3, the loop -> 4."""
    if loop:
        return 4
    top = {w.name for w in writes} if tree is None else \
        {n for s in tree.body if isinstance(s, ast.Assign) for t in s.targets for n, _ in _target_names(t)}
    for name, ex in (("hpreact_fast", 3), ("loss_fast", 2), ("logprobs", 1), ("loss", 1)):
        if name in top:
            return ex
    return None


def analyse(source: str) -> Info:
    """Neutralise and read one code cell."""
    code = neutralise(source)
    try:
        tree, error = ast.parse(code), None
    except SyntaxError as exc:
        tree, error = None, f"line {exc.lineno}: {exc.msg}"
    if tree is not None:
        writes, loop = writes_of(tree), _training_loop(tree)
        reads = names_read(tree)
    else:
        writes, loop = _text_writes(code), _text_loop(code) or None
        reads = set(re.findall(r"[A-Za-z_]\w*", code))
    return Info(code, tree, error, writes, loop, headers_of(code), _hint(writes, tree, loop), reads)


def detect(info: Info) -> int | None:
    """The exercise a cell's assignments point to: grads or the loop -> 4, exercise-1-only names -> 1, then 2, 3."""
    names = {w.name for w in info.writes}
    if info.loop or "grads" in names:
        return 4
    if names & (set(EX1_GRADS) - {"dlogits", "dhprebn"}):
        return 1
    if "dlogits" in names and "dhprebn" in names:
        return 1
    return 2 if "dlogits" in names else 3 if "dhprebn" in names else None


def compatible(exercise: int | None, names: set[str]) -> bool:
    """Whether a cell assigning `names` can be part of `exercise`."""
    if exercise == 1:
        return names <= set(EX1_GRADS)
    if exercise in (2, 3):
        return GRADED[exercise][0] in names
    return exercise == 4 and bool(names & EX4_WRITES)


def _block_span(info: Info) -> tuple[int, int] | None:
    """First and last line of the backward block: after `loss = ...`, before the update."""
    if isinstance(info.loop, ast.AST):
        best = None
        for node in ast.walk(info.loop):
            for name in ("body", "orelse", "finalbody"):
                stmts = getattr(node, name, None)
                for idx, stmt in enumerate(stmts if isinstance(stmts, list) else []):
                    if _assigns_loss(stmt) and (best is None or stmt.lineno > best[0][best[1]].lineno):
                        best = (stmts, idx)
        if best is None:
            return None
        stmts, idx = best
        rest = stmts[idx + 1:]
        ends = [s.lineno - 1 for s in rest if _is_update(s)]
        if ends:
            return stmts[idx].end_lineno + 1, ends[0]
        grads = [s.end_lineno for s in rest if {w.name for w in writes_of(ast.Module([s], []))} & EX4_WRITES]
        return stmts[idx].end_lineno + 1, grads[-1] if grads else (rest[-1].end_lineno if rest else stmts[idx].end_lineno)
    return _text_block_span(info.code.split("\n"))


def _indent(line: str) -> int:
    """Width of a line's leading whitespace."""
    return len(line) - len(line.lstrip())


def _text_block_span(lines: list[str]) -> tuple[int, int] | None:
    """The backward block found by text, for a loop cell that does not parse."""
    starts = [i for i, line in enumerate(lines) if re.match(r"^\s+loss\s*=[^=]", line)]
    if not starts:
        return None
    i, depth = starts[-1], 0
    indent = _indent(lines[i])
    while True:
        depth += sum(lines[i].count(c) for c in "([{") - sum(lines[i].count(c) for c in ")]}")
        if depth <= 0 or i + 1 >= len(lines):
            break
        i += 1
    start = end = i + 2  # 1-based line after the loss statement
    for j in range(i + 1, len(lines)):
        line = lines[j]
        if re.match(r"^\s*(lr\s*=|learning_rate\s*=|for\s+\w+\s*,\s*\w+\s+in\s+zip\(|[\w.]+\.data\s*[-+]?=)", line):
            break
        if line.strip() and not line.lstrip().startswith("#") and _indent(line) < indent:
            break
        end = j + 1
    return start, end - 1 if end > start else start - 1


def dedent(lines: list[str]) -> list[str]:
    """Strip the block's common indentation; comments and blanks may sit further left."""
    code = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    prefix = min((line[: _indent(line)] for line in code), key=len, default="")
    return [line[len(prefix):] if line.startswith(prefix) else line.lstrip() for line in lines]


def drop_loop_control(lines: list[str]) -> list[str]:
    """`break`/`continue` outside any loop of the block become `pass` (same line)."""
    out, loops = [], []
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            while loops and _indent(line) <= loops[-1]:
                loops.pop()
            m = _LOOP_CONTROL.match(line)
            if _LOOP_HEADER.match(line):
                loops.append(_indent(line))
            elif m and not loops:
                line = m.group(1) + "pass" + m.group(2)
        out.append(line)
    return out


def training_block(info: Info) -> list[tuple[int, str]]:
    """Exercise 4's answer: (line in cell, text) of the backward block, dedented, without trailing comments."""
    span = _block_span(info)
    if span is None:
        return []
    lines = info.code.split("\n")
    numbered = list(range(span[0], span[1] + 1))
    while numbered and not lines[numbered[0] - 1].strip():
        numbered.pop(0)
    while numbered and (not lines[numbered[-1] - 1].strip() or lines[numbered[-1] - 1].lstrip().startswith("#")):
        numbered.pop()
    texts = drop_loop_control(dedent([lines[k - 1] for k in numbered]))
    return list(zip(numbered, texts))


def checker_defs(tree: ast.Module | None) -> list[ast.stmt]:
    """Top-level functions that compare with autograd's `.grad` (the lecture's cmp, renamed or not)."""
    return [s for s in (tree.body if tree else []) if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
            and (s.name == "cmp" or any(isinstance(n, ast.Attribute) and n.attr == "grad" for n in ast.walk(s)))]


def _span(stmt: ast.stmt) -> list[int]:
    """The lines of a statement, decorators included."""
    first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])])
    return list(range(first, stmt.end_lineno + 1))


def defines(stmt: ast.stmt) -> set[str]:
    """Names a statement binds at its own level."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    targets = stmt.targets if isinstance(stmt, ast.Assign) else [getattr(stmt, "target", None)]
    return {n for t in targets if isinstance(t, ast.AST) for n, direct in _target_names(t) if direct}


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_HELPER_STMTS = _DEFS + (ast.Import, ast.ImportFrom, ast.Pass, ast.Assign, ast.AnnAssign, ast.AugAssign)


def _harmless(stmt: ast.stmt) -> bool:
    """A statement a helper cell may hold: definitions, imports, fresh variables, prints."""
    if isinstance(stmt, ast.Expr):
        value = stmt.value
        return isinstance(value, ast.Constant) or isinstance(value, ast.Call) and \
            getattr(value.func, "id", "") in ("print", "display")
    return isinstance(stmt, _HELPER_STMTS) and (isinstance(stmt, _DEFS) or not defines(stmt) & (LECTURE | ALL_WRITES))


def helper_units(info: Info, whole: bool) -> list[tuple[list[int], set[str], set[str]]]:
    """(lines, names defined, names read) a helper cell offers (whole), or each function of a loop cell."""
    checkers = checker_defs(info.tree)
    body = [s for s in info.tree.body if s not in checkers]
    if not whole:
        return [(_span(s), {s.name}, names_read(s)) for s in body if isinstance(s, _DEFS)]
    if not all(map(_harmless, info.tree.body)):
        return []
    lines = [k for s in body for k in _span(s)]
    return [(lines, {n for s in body for n in defines(s)}, names_read(ast.Module(body, [])))]


def after_forward(info: Info) -> int:
    """First line of an exercise cell's own code: forward-pass statements before its first gradient stay out."""
    if info.tree is None:
        return 1
    body = info.tree.body
    first = next((k for k, s in enumerate(body) if {w.name for w in writes_of(s)} & ALL_WRITES), len(body))
    forward = [s for s in body[:first] if defines(s) & FORWARD or any(
        isinstance(n, ast.Attribute) and n.attr in ("backward", "retain_grad") for n in ast.walk(s))]
    return forward[-1].end_lineno + 1 if forward else 1
