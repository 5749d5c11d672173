"""Turn a student's file (a .py stub, a .py export, a notebook) into the code of each exercise."""
from __future__ import annotations

import ast
import functools
import builtins
import json
import re
from dataclasses import dataclass, field
from pathlib import Path


from grader.submissions import bounds, names as student_names, sections
from grader.submissions.block import training_block
from grader.submissions.notebook import (ALL_WRITES, GRADED, LECTURE, Cell, Info, after_forward, analyse, detect, headers_of, parse,
                       names_read, writes_of)

EXERCISE_IDS = (1, 2, 3, 4)
_PY_MARKER = re.compile(r"^#\s*(?:In\s*\[[\d ]*\]\s*:?|%%(?:\s.*)?)$")  # not `# %%time`: a commented magic
_PREFIX = re.compile(r"^ex(?:ercise)?[_-]?([1-4])(?:[_\-.]|$)", re.I)
_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_HELPER_STMTS = (ast.Import, ast.ImportFrom, ast.Pass, ast.Assign, ast.AnnAssign, ast.AugAssign)
_NOT_FOUND = ("no cell assigns dlogits, dhprebn, another gradient of the lecture or `grads`, "
              "and no '# Exercise N' header was found")


class SubmissionError(Exception):
    """A file that cannot be read as a submission; str(e) is one line naming the file."""


@dataclass
class ExerciseCode:
    """The code of one exercise, with where each of its lines came from."""

    exercise: int
    code: str
    source: str
    line_map: list[tuple[int | None, int]]
    notes: list[str] = field(default_factory=list)
    checkers: tuple[str, ...] = ("cmp",)  # names of the student's cmp-like functions (bind them to a no-op)
    hints: dict[str, str] = field(default_factory=dict)  # gradient -> "did you mean `dlogits_a` or `dlogits_b`?"
    groups: list | None = None  # per line, the cell Jupyter runs it in (Cell.group); None: as line_map's cells
    renamed: dict[str, str] = field(default_factory=dict)  # d<name> -> the student's own name it is graded from

    def locate(self, lineno: int) -> str:
        """'cell 12, line 7' (notebook) or 'line 7' (.py) for line `lineno` of `code`."""
        if not 1 <= lineno <= len(self.line_map):
            return f"line {lineno} of the extracted code"
        cell, line = self.line_map[lineno - 1]
        if line == 0:
            return f"line {lineno} of the extracted code (added by the grader: {self.code.split(chr(10))[lineno - 1].strip()})"
        return f"line {line}" if cell is None else f"cell {cell}, line {line}"

    def nothing_ran(self, error: dict | None) -> bool:
        """The run's error (child.student_error) came before any statement of the student's had finished."""
        if not isinstance(error, dict) or error.get("integrity"):
            return False
        if error.get("type") == "SyntaxError":
            return True
        try:
            first = next(s.lineno for s in parse(self.code).body if self.line_map[s.lineno - 1] != (None, 0))
        except (SyntaxError, StopIteration, IndexError):
            return False
        return isinstance(error.get("lineno"), int) and error["lineno"] <= first

    def assigned_after(self, name: str, line: int) -> int | None:
        """The first line after `line` that assigns `name` (None when none does)."""
        return min((w.line for w in analyse(self.code).writes if w.name == name and w.line > line), default=None)

    def cell_starts(self) -> list[int]:
        """The first line of each cell in the code (Jupyter runs cells one after another; a .py without cell markers is one)."""
        starts, previous = [], object()
        cells = self.groups if self.groups is not None else [cell for cell, _ in self.line_map]
        for i, cell in enumerate(cells, start=1):
            if cell != previous:
                starts.append(i)
                previous = cell
        return starts or [1]

    @property
    def attempted(self) -> bool:
        """False when every graded name is still the None/TODO placeholder (untouched stub)."""
        names = set(GRADED[self.exercise]) | ({"grads"} if self.exercise == 4 else set())
        return any(w.name in names and w.kind in ("assign", "update") for w in analyse(self.code).writes)


@dataclass
class Submission:
    """Every exercise found in one file."""

    path: Path
    exercises: dict[int, ExerciseCode]
    notes: list[str] = field(default_factory=list)
    whole: bool = False  # a notebook or a notebook's export (cells): graded out of all four exercises


def detect_exercise(code: str) -> int | None:
    """By the names the code assigns: `grads` or the loop -> 4, an exercise-1-only name -> 1, dlogits -> 2, dhprebn -> 3."""
    return detect(analyse(code))


def _read_text(path: Path) -> str:
    """The file as text; SubmissionError for unreadable, binary or non-UTF-8 files."""
    try:
        bounds.check_size(path, SubmissionError)
        data = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"{path.name}: cannot read the file ({exc.strerror or exc})") from None
    if b"\x00" in data[:65536]:
        raise SubmissionError(f"{path.name}: binary file, not a notebook or Python source")
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SubmissionError(f"{path.name}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
                              "save it as UTF-8") from None


def notebook_cells(path: Path, text: str) -> list[Cell]:
    """The cells of a notebook (nbformat 4), numbered as the student sees them; outputs are ignored."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(f"{path.name}: not a Jupyter notebook (invalid JSON at line {exc.lineno})") from None
    if not isinstance(raw, dict) or not ({"cells", "worksheets", "nbformat"} & raw.keys()):
        raise SubmissionError(f"{path.name}: not a Jupyter notebook (JSON without notebook cells)")
    if isinstance(raw.get("cells"), list):
        bounds.check_cells(path, len(raw["cells"]), 0, SubmissionError)
    if raw.get("nbformat") != 4:
        raise SubmissionError(f"{path.name}: nbformat {raw.get('nbformat')} notebooks are not supported "
                              "(open and save it in Jupyter to convert it to nbformat 4)")
    cells = []  # read as nbformat 4 lays them out (nbformat itself costs ~0.2 s to import and validate)
    listed = raw.get("cells")
    for k, c in enumerate(listed if isinstance(listed, list) else [None], 1):
        source = c.get("source", "") if isinstance(c, dict) else None
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str) or not isinstance(c.get("cell_type", "raw"), str):
            raise SubmissionError(f"{path.name}: not a Jupyter notebook (cell {k} is malformed)")
        cells.append(Cell(k, c.get("cell_type", "raw"), source.replace("\r\n", "\n"), group=k))
    if not any(c.kind == "code" and c.source.strip() for c in cells):
        raise SubmissionError(f"{path.name}: empty notebook (no code cells)")
    return cells


def py_cells(text: str) -> list[Cell] | None:
    """A .py export split at its `# In[ ]:` / `# %%` markers (None when there are none)."""
    lines = text.split("\n")
    marks = [k for k, line in enumerate(lines) if _PY_MARKER.match(line.strip())]
    if not marks:
        return None
    cells, bounds = [], [-1] + marks + [len(lines)]
    for start, end in zip(bounds, bounds[1:]):
        kind = "markdown" if start >= 0 and "[markdown]" in lines[start] else "code"
        body = lines[start + 1:end]
        if kind == "markdown":
            body = [re.sub(r"^# ?", "", line) for line in body]
        cells.append(Cell(None, kind, "\n".join(body), offset=start + 1, group=len(cells)))  # Jupyter's cells
    return cells


def paragraph_cells(text: str) -> list[Cell]:
    """A whole script without markers cut into pseudo-cells at blank lines before top-level code."""
    lines, cells, start = text.split("\n"), [], 0
    for k in range(1, len(lines)):
        line = lines[k]
        if line.strip() and not line[0].isspace() and not lines[k - 1].strip():
            cells.append(Cell(None, "code", "\n".join(lines[start:k]), offset=start))
            start = k
    cells.append(Cell(None, "code", "\n".join(lines[start:]), offset=start))
    return cells


def _build(ex: int, cells: list[Cell], infos: dict[int, Info], members: list[int], loop: int | None,
           source: str) -> ExerciseCode:
    """The code of one exercise: its cells (or the loop's backward block) plus the helpers it calls."""
    chosen: dict[tuple[int, int], str] = {}
    notes = []
    if loop is not None:
        chosen.update({(loop, k): text for k, text in training_block(infos[loop])})
    for i in members:
        lines = infos[i].code.split("\n")
        start = after_forward(infos[i]) if ex != 4 else 1
        if start > 1:
            (number, first), (_, last) = cells[i].where(1), cells[i].where(start - 1)
            where = f"lines {first}-{last}" if number is None else f"cell {number} lines {first}-{last}"
            notes.append(f"{where} (the forward pass) are left out of exercise {ex}")
        chosen.update({(i, k): lines[k - 1] for k in range(start, len(lines) + 1)})
    notes += sections.rewrites(ex, cells, infos, members)
    _add_helpers(chosen, infos, members + ([loop] if loop is not None else []), loop)
    keys = sorted(chosen)
    while keys and not chosen[keys[-1]].strip():
        keys.pop()
    while keys and not chosen[keys[0]].strip():
        keys.pop(0)
    code = "".join(chosen[key] + "\n" for key in keys)
    return ExerciseCode(ex, code, source, [cells[i].where(k) for i, k in keys], notes, _checkers(infos),
                        groups=[cells[i].group for i, _ in keys])


def _checker_defs(tree: ast.Module | None) -> tuple[ast.stmt, ...]:
    return _checker_defs_cached(tree) if tree is not None else ()


@functools.lru_cache(maxsize=2048)  # trees come from notebook.analyse's cache, which keeps them alive
def _checker_defs_cached(tree: ast.Module) -> tuple[ast.stmt, ...]:
    """Top-level functions comparing with autograd's `.grad`: the lecture's cmp, renamed or not."""
    return tuple(s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and (s.name == "cmp" or any(getattr(n, "attr", None) == "grad" for n in ast.walk(s))))


def _checkers(infos: dict[int, Info]) -> tuple[str, ...]:
    """The names of every cmp-like function the student defined."""
    return tuple(sorted({"cmp"} | {d.name for info in infos.values() for d in _checker_defs(info.tree)}))


def _defines(stmt: ast.stmt) -> set[str]:
    """Names a statement binds at its own level."""
    if isinstance(stmt, _DEFS):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    return {w.name for w in writes_of(stmt) if w.kind != "update"}


def _span(stmt: ast.stmt) -> list[int]:
    """The lines of a statement, decorators included."""
    return list(range(min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", [])]), stmt.end_lineno + 1))


def _harmless(stmt: ast.stmt) -> bool:
    """What a helper cell may hold: definitions, imports, fresh variables, prints."""
    if isinstance(stmt, ast.Expr):
        call = stmt.value
        return isinstance(call, ast.Constant) or isinstance(call, ast.Call) and getattr(call.func, "id", "") in ("print", "display")
    return isinstance(stmt, _DEFS) or isinstance(stmt, _HELPER_STMTS) and not _defines(stmt) & (LECTURE | ALL_WRITES)


def _helper_units(info: Info, whole: bool) -> list[tuple[list[int], set[str], set[str]]]:
    """(lines, names defined, names read) that a helper cell offers (whole), or each function of a loop cell."""
    body = [s for s in info.tree.body if s not in _checker_defs(info.tree)]
    if not whole:
        return [(_span(s), _defines(s), names_read(s)) for s in body if isinstance(s, _DEFS) or  # or a flag: use_autograd = False
                isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant) and _harmless(s)]
    if not all(map(_harmless, info.tree.body)):
        return []
    return [([k for s in body for k in _span(s)], {n for s in body for n in _defines(s)}, names_read(ast.Module(body, [])))]


def _add_helpers(chosen: dict, infos: dict[int, Info], members: list[int], loop: int | None) -> None:
    """Add earlier cells (and the loop cell's functions) that define names the exercise code reads but never defines."""
    known = LECTURE | ALL_WRITES | set(dir(builtins)) | set(_checkers(infos))
    text = "\n".join(chosen[key] for key in sorted(chosen))
    try:
        tree = parse(text)
        needed = names_read(tree) - {n for s in ast.walk(tree) if isinstance(s, ast.stmt) for n in _defines(s)} - known
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # too deep to parse: the child says so
        needed = set(re.findall(r"[A-Za-z_]\w*", text)) - known
    last = max(members, default=-1)
    units = [(i, unit) for i, info in infos.items() if info.tree is not None and (
        i == loop or i < last and i not in members and not info.loop and not info.graded())
        for unit in _helper_units(info, whole=i != loop)]
    while hits := [(i, unit) for i, unit in units if unit[1] & needed]:
        for i, unit in hits:
            lines, defined, reads = unit
            chosen.update({(i, k): infos[i].code.split("\n")[k - 1] for k in lines})
            units.remove((i, unit))
            needed = (needed - defined) | (reads - known)


def find_exercises(cells: list[Cell], source: str) -> dict[int, ExerciseCode]:
    """Locate each exercise by what the cells do: the names they assign, the headers around them, the loop."""
    found = sections.assign(cells)
    cells, infos, members, loop = found.cells, found.infos, found.members, found.loop
    exercises = {ex: adapt(_build(ex, cells, infos, members[ex], loop if ex == 4 else None, source), found.aliases)
                 for ex in sorted(found.seen)}
    if 4 in exercises:
        exercises[4].notes[:0] = found.notes4
    for ex, notes in found.notes.items():
        exercises[ex].notes[:0] = notes
    return exercises


def load_submission(path: Path, exercise: int | None = None) -> Submission:
    """Read a .py file (a stub, one cell's code, or a notebook exported to .py with `# In[ ]:` or `# %%` cell markers) or an .ipynb.
    `exercise` forces the exercise of a plain .py file. Raises SubmissionError for unreadable files."""
    if exercise is not None and exercise not in EXERCISE_IDS:
        raise ValueError(f"there is no exercise {exercise!r}; exercises are 1, 2, 3 and 4")
    path = Path(path)
    with bounds.bounded(path, SubmissionError):
        return _load(path, exercise)


def _load(path: Path, exercise: int | None) -> Submission:
    text = _read_text(path)
    notebook = path.suffix.lower() == ".ipynb" or (path.suffix.lower() != ".py" and text.lstrip().startswith("{"))
    cells = notebook_cells(path, text) if notebook else py_cells(text)
    code_chars = sum(len(c.source) for c in cells if c.kind == "code") if cells else len(text)
    bounds.check_cells(path, len(cells or ()), code_chars, SubmissionError)
    if cells is None and exercise is None and len(set(n for _, n in headers_of(text))) > 1:
        cells = paragraph_cells(text)
    if cells is None:
        info = analyse(text)
        ex = exercise or next((n for _, n in info.headers), None) or _prefix(path) or detect(info)
        if ex is None:
            raise SubmissionError(f"{path.name}: no exercise found: {_NOT_FOUND}")
        loop = 0 if ex == 4 and info.loop else None
        code = _build(ex, [Cell(None, "code", text)], {0: info}, [] if loop == 0 else [0], loop, bounds.shown(path))
        code = adapt(code, student_names.student_aliases([info]))
        return Submission(path, {ex: code}, [])
    exercises = find_exercises(cells, bounds.shown(path))
    if exercise is not None:
        exercises = {ex: code for ex, code in exercises.items() if ex == exercise}
    if not exercises:
        wanted = f"exercise {exercise}" if exercise else "exercise"
        raise SubmissionError(f"{path.name}: no {wanted} found: {_NOT_FOUND}")
    return Submission(path, exercises, [], whole=True)


def adapt(code: ExerciseCode, aliases: dict[str, str]) -> ExerciseCode:
    """The student's own names made usable: `yb = Yb` before the code, `dlogits = dlogits_fast` after it.

    The added lines map to no line of the student's (line 0 in line_map).
    """
    before, renamed, notes, hints = student_names.adapt(code.code, code.exercise, aliases)
    after = [f"if {mine!r} in globals(): {target} = {mine}" for target, mine in renamed.items()]
    if before or after:
        code.code = "".join(line + "\n" for line in before) + code.code + "".join(line + "\n" for line in after)
        code.line_map = [(None, 0)] * len(before) + code.line_map + [(None, 0)] * len(after)
        if code.groups is not None:
            code.groups = [None] * len(before) + code.groups + [None] * len(after)
    code.notes += notes
    code.hints.update(hints)
    code.renamed.update(renamed)
    return code


def _prefix(path: Path) -> int | None:
    """The exercise named by a file name like ex2_cross_entropy.py."""
    m = _PREFIX.match(path.stem)
    return int(m.group(1)) if m else None
