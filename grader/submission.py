"""Turn a student's file (a .py stub, a .py export, a notebook) into the code of each exercise."""
from __future__ import annotations

import ast
import builtins
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .notebook import (GRADED, LECTURE, Cell, Info, after_forward, analyse, checker_defs, compatible, defines,
                       detect, headers_of, helper_units, names_read, training_block)

EXERCISE_IDS = (1, 2, 3, 4)
_PY_MARKER = re.compile(r"^#\s*(?:In\s*\[[\d ]*\]\s*:?|%%.*)\s*$")
_PREFIX = re.compile(r"^ex(?:ercise)?[_-]?([1-4])(?:[_\-.]|$)", re.I)
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

    def locate(self, lineno: int) -> str:
        """'cell 12, line 7' (notebook) or 'line 7' (.py) for line `lineno` of `code`."""
        if not 1 <= lineno <= len(self.line_map):
            return f"line {lineno} of the extracted code"
        cell, line = self.line_map[lineno - 1]
        return f"line {line}" if cell is None else f"cell {cell}, line {line}"

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


def detect_exercise(code: str) -> int | None:
    """By the names the code assigns: `grads` or the loop -> 4, an exercise-1-only name -> 1, dlogits -> 2, dhprebn -> 3."""
    return detect(analyse(code))


def _read_text(path: Path) -> str:
    """The file as text; SubmissionError for unreadable, binary or non-UTF-8 files."""
    try:
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
    if raw.get("nbformat") != 4:
        raise SubmissionError(f"{path.name}: nbformat {raw.get('nbformat')} notebooks are not supported "
                              "(open and save it in Jupyter to convert it to nbformat 4)")
    try:
        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
        cells = [Cell(k, c.get("cell_type", "raw"), c.get("source", "")) for k, c in enumerate(nb.cells, 1)]
    except Exception as exc:  # nbformat's many ways to reject a file: all mean "not a notebook"
        raise SubmissionError(f"{path.name}: not a Jupyter notebook ({type(exc).__name__})") from None
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
        cells.append(Cell(None, kind, "\n".join(body), offset=start + 1))
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


def _where(cell: Cell, line: int) -> str:
    """'cell 12 line 3' or 'line 40' for a note."""
    number, line = cell.where(line)
    return f"line {line}" if number is None else f"cell {number} line {line}"


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
            notes.append(f"{_where(cells[i], 1)}-{start - 1} (forward pass) is left out of exercise {ex}")
        chosen.update({(i, k): lines[k - 1] for k in range(start, len(lines) + 1)})
    notes += _rewrites(ex, cells, infos, members)
    _add_helpers(chosen, cells, infos, members + ([loop] if loop is not None else []), loop)
    keys = sorted(chosen)
    code = "\n".join(chosen[key] for key in keys)
    line_map = [cells[i].where(k) for i, k in keys]
    result = ExerciseCode(ex, code + "\n" if code else "", source, line_map, notes, _checkers(infos))
    try:
        compile(result.code, "<submission>", "exec")
    except SyntaxError as exc:
        where = result.locate(exc.lineno or 0)
        notes.append(f"exercise {ex} has a syntax error at {where}: {exc.msg}")
    return result


def _rewrites(ex: int, cells: list[Cell], infos: dict[int, Info], members: list[int]) -> list[str]:
    """Notes for a graded name assigned afresh in more than one cell (the last one counts)."""
    notes = []
    for name in GRADED[ex]:
        spots = [(i, w.line) for i in members for w in infos[i].writes if w.name == name and w.kind == "assign"]
        if len({i for i, _ in spots}) > 1:
            where = ", ".join(_where(cells[i], line) for i, line in spots)
            notes.append(f"{name} is written {len(spots)} times ({where}); the last one counts")
    return notes


def _checkers(infos: dict[int, Info]) -> tuple[str, ...]:
    """The names of every cmp-like function the student defined."""
    return tuple(sorted({"cmp"} | {d.name for info in infos.values() for d in checker_defs(info.tree)}))


def _add_helpers(chosen: dict, cells: list[Cell], infos: dict[int, Info], members: list[int], loop: int | None):
    """Add the cells (and the loop cell's functions) defining names the exercise code reads but does not define."""
    text = "\n".join(chosen[key] for key in sorted(chosen))
    try:
        tree = ast.parse(text)
        needed = names_read(tree) - {n for s in ast.walk(tree) if isinstance(s, ast.stmt) for n in defines(s)}
    except SyntaxError:
        needed = set(re.findall(r"[A-Za-z_]\w*", text))
    needed -= LECTURE | set(dir(builtins)) | set(_checkers(infos))
    last = max(members, default=-1)
    units = [(i, unit) for i, info in infos.items() if info.tree is not None and (
        i == loop or i < last and i not in members and not info.loop and not info.graded())
        for unit in helper_units(info, whole=i != loop)]
    while needed:
        hits = [(i, unit) for i, unit in units if unit[1] & needed]
        if not hits:
            break
        for i, (lines, defined, reads) in hits:
            chosen.update({(i, k): infos[i].code.split("\n")[k - 1] for k in lines})
            units.remove((i, (lines, defined, reads)))
            needed = (needed - defined) | (reads - LECTURE - set(dir(builtins)))
        needed -= {n for _, (_, d, _) in hits for n in d}


def find_exercises(cells: list[Cell], source: str) -> tuple[dict[int, ExerciseCode], list[str]]:
    """Locate each exercise by what the cells do: the names they assign, the headers before them, the loop."""
    infos = {i: analyse(c.source) for i, c in enumerate(cells) if c.kind == "code"}
    members: dict[int, list[int]] = {ex: [] for ex in EXERCISE_IDS}
    loops, seen, context, notes = [], set(), None, []
    for i, cell in enumerate(cells):
        if i not in infos:
            found = [n for _, n in headers_of(cell.source, markdown=cell.kind == "markdown")]
            seen.update(found)
            context = found[-1] if found else context
            continue
        info = infos[i]
        names = info.graded()
        first = min((w.line for w in info.writes if w.name in names), default=10**9)
        lead = [n for line, n in info.headers if line <= first]
        here = lead[-1] if lead else info.hint or context
        ex = 4 if info.loop else (here if compatible(here, names) else detect(info)) if names else None
        if ex:
            (loops if info.loop else members[ex]).append(i)
        seen.update([n for _, n in info.headers] + ([ex] if ex else []))
        context = info.headers[-1][1] if info.headers else info.hint or ex or context
    if loops:
        if len(loops) > 1:
            notes.append("the exercise 4 training loop is in " + ", ".join(_where(cells[i], 1).rsplit(" line", 1)[0]
                                                                          for i in loops) + "; the last one counts")
        if members[4]:
            notes.append("exercise 4 gradients assigned outside the training loop (" +
                         ", ".join(_where(cells[i], 1) for i in members[4]) + ") are ignored")
        members[4] = []
    exercises = {ex: _build(ex, cells, infos, members[ex], loops[-1] if ex == 4 and loops else None, source)
                 for ex in sorted(seen)}
    if loops and len(loops) > 1:
        exercises[4].notes[:0] = notes[:1]
    return exercises, notes


def load_submission(path: Path, exercise: int | None = None) -> Submission:
    """Read a .py file (a stub, one cell's code, or a notebook exported to .py with `# In[ ]:` or `# %%` cell markers) or an .ipynb.
    `exercise` forces the exercise of a plain .py file. Raises SubmissionError for unreadable files."""
    path = Path(path)
    text = _read_text(path)
    notebook = path.suffix.lower() == ".ipynb" or (path.suffix.lower() != ".py" and text.lstrip().startswith("{"))
    cells = notebook_cells(path, text) if notebook else py_cells(text)
    if cells is None and exercise is None and len(set(n for _, n in headers_of(text))) > 1:
        cells = paragraph_cells(text)
    if cells is None:
        info = analyse(text)
        ex = exercise or next((n for _, n in info.headers), None) or _prefix(path) or detect(info)
        if ex is None:
            raise SubmissionError(f"{path.name}: no exercise found: {_NOT_FOUND}")
        loop = 0 if ex == 4 and info.loop else None
        code = _build(ex, [Cell(None, "code", text)], {0: info}, [] if loop == 0 else [0], loop, path.name)
        return Submission(path, {ex: code}, [])
    exercises, notes = find_exercises(cells, path.name)
    if exercise is not None:
        exercises = {ex: code for ex, code in exercises.items() if ex == exercise}
    if not exercises:
        wanted = f"exercise {exercise}" if exercise else "exercise"
        raise SubmissionError(f"{path.name}: no {wanted} found: {_NOT_FOUND}")
    return Submission(path, exercises, notes)


def _prefix(path: Path) -> int | None:
    """The exercise named by a file name like ex2_cross_entropy.py."""
    m = _PREFIX.match(path.stem)
    return int(m.group(1)) if m else None
