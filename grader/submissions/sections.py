"""Which cells make up which exercise: the exercise headers around a cell first, then what the cell assigns."""
from __future__ import annotations

import ast
from dataclasses import dataclass, field

from grader.submissions import names as student_names
from grader.submissions.notebook import (EX1_GRADS, GRADED, Cell, Info, _statements, analyse, compatible, detect, headers_of,
                                         names_read)

EXERCISE_IDS = (1, 2, 3, 4)
_FRESH_ONLY = ("dlogits", "dhprebn")  # exercise 1 assigns these too; afresh after it, they start exercise 2 (3)
# exercise 2 (3) in one go: its gradient from its forward input, none of exercise 1's chain in between
_ONE_GO = {2: ("dlogits", "logits", {"dlogprobs", "dprobs", "dcounts_sum_inv", "dcounts_sum", "dcounts", "dnorm_logits",
                                     "dlogit_maxes"}),
           3: ("dhprebn", "dhpreact", {"dbnraw", "dbnvar_inv", "dbnvar", "dbndiff2", "dbndiff", "dbnmeani"})}


@dataclass
class Sections:
    """The cells (split at headers), what each code cell does, and the cells of each exercise."""

    cells: list[Cell]
    infos: dict[int, Info]
    members: dict[int, list[int]]
    loop: int | None = None  # the training loop cell whose backward block is exercise 4
    seen: set[int] = field(default_factory=set)  # exercises named by a header or found by their code
    notes4: list[str] = field(default_factory=list)
    notes: dict[int, list[str]] = field(default_factory=dict)  # exercise -> notes on how its cells were found
    aliases: dict[str, str] = field(default_factory=dict)  # the student's forward names -> the lecture's


def assign(cells: list[Cell]) -> Sections:
    """Give each code cell its exercise, in document order.

    A cell's exercise comes first from a header in it before its first gradient, then from the headers
    and exercises before it when compatible with what it assigns, else from its names. A cell that only
    updates gradients (`dhprebn += ...`, `dlogits[range(n), Yb] -= 1`) belongs with the cell that
    assigned them afresh, unless an exercise header came in between.
    """
    cells = [part for cell in cells for part in split_at_headers(cell)]
    infos = {i: analyse(c.source) for i, c in enumerate(cells) if c.kind == "code"}
    members: dict[int, list[int]] = {ex: [] for ex in EXERCISE_IDS}
    aliases = student_names.student_aliases([infos[i] for i in sorted(infos)])  # yb -> Yb, dL_dlp -> dlogprobs
    loops, seen, context = [], set(), None
    owner: dict[str, tuple[int, int]] = {}  # gradient -> (exercise, cell) of its last fresh assignment
    last_header = -1  # index of the last cell holding an exercise header
    for i, cell in enumerate(cells):
        if i not in infos:
            found = [n for _, n in headers_of(cell.source, markdown=cell.kind == "markdown")]
            seen.update(found)
            context = found[-1] if found else context
            last_header = i if found else last_header
            continue
        info = infos[i]
        names = info.graded() or _near(info, aliases)
        kinds = {w.name for w in info.writes if w.name in names and w.kind != "placeholder"}
        first = min((w.line for w in info.writes if w.name in names), default=10**9)
        lead = [n for line, n in info.headers if line <= first]
        here = lead[-1] if lead else info.hint or context
        ex = 4 if info.loop else (here if compatible(here, names) else detect(info) or _detect(names)) if names else None
        fresh = {w.name for w in info.writes if w.name in names and w.kind == "assign"}
        updated = [owner[n] for n in kinds if n not in fresh and n in owner and owner[n][1] > last_header]
        if ex and not info.loop and not lead and kinds and not fresh and updated:
            ex = updated[-1][0]  # a lone `dhprebn += ...`: the exercise that assigned dhprebn
        elif ex == 1 and not lead and detect(info) in (2, 3) and fresh & set(_FRESH_ONLY) \
                and any(owner.get(n, (0,))[0] == 1 for n in fresh & set(_FRESH_ONLY)):
            ex = detect(info)  # dlogits (dhprebn) afresh after exercise 1 already did: exercise 2 (3)
        if ex:
            (loops if info.loop else members[ex]).append(i)
            owner.update({n: (ex, i) for n in fresh})
        seen.update([n for _, n in info.headers] + ([ex] if ex else []))
        last_header = i if info.headers else last_header
        context = info.headers[-1][1] if info.headers else info.hint or ex or context
    out = Sections(cells, infos, members, loops[-1] if loops else None, seen, aliases=aliases)
    for ex, (name, given, chain) in _ONE_GO.items():  # no cell of its own: exercise 1's cell that does it in one go
        one_go = [i for i in members[1] if ex not in seen and _in_one_go(infos[i], name, given, chain)]
        if one_go:
            members[ex].append(one_go[-1])
            seen.add(ex)
            out.notes[ex] = [f"no cell of exercise {ex} of its own: {cell_name(cells[one_go[-1]])}'s {name}, "
                             "computed in one go, is graded as exercise " + f"{ex} too"]
    if len(loops) > 1:
        names = ", ".join(cell_name(cells[i]) for i in loops)
        out.notes4.append(f"the exercise 4 training loop is in {len(loops)} cells ({names}); the last one counts")
    if loops and members[4]:
        names = ", ".join(cell_name(cells[i]) for i in members[4])
        out.notes4.append(f"exercise 4 gradients assigned outside the training loop ({names}) are ignored")
        members[4] = []
    return out


def _in_one_go(info: Info, name: str, given: str, chain: set) -> bool:
    """The cell assigns `name` afresh from `given`, reading none of the `chain` (exercise 1's steps in between)."""
    return any(isinstance(st, ast.Assign) and [getattr(t, "id", None) for t in st.targets] == [name]
               and given in names_read(st.value) and not names_read(st.value) & chain
               for st in _statements(info.tree)) if info.tree is not None else False


def _near(info: Info, aliases: dict[str, str]) -> set[str]:
    """The gradients a cell assigns under a near name only (dlogits_fast, dh_prebn): what it stands for."""
    written = {w.name for w in info.writes if w.kind in ("assign", "update")}
    return {target for target, hits in student_names.near_names(written, None, aliases).items() if len(hits) == 1}


def _detect(names: set[str]) -> int | None:
    """detect() for a cell's near names."""
    if names - {"dlogits", "dhprebn"} <= set(EX1_GRADS) and names - {"dlogits", "dhprebn"}:
        return 1
    return 2 if names == {"dlogits"} else 3 if names == {"dhprebn"} else None


def split_at_headers(cell: Cell) -> list[Cell]:
    """A code cell holding several exercises, cut at each '# Exercise N' comment (when every part parses)."""
    found = headers_of(cell.source) if cell.kind == "code" else []
    cuts = [line for (_, before), (line, n) in zip(found, found[1:]) if n != before]
    lines = cell.source.split("\n")
    parts = [lines[a - 1:b - 1] for a, b in zip([1] + cuts, cuts + [len(lines) + 1])]
    if not cuts or any(analyse("\n".join(part)).tree is None for part in parts):
        return [cell]
    starts = [1] + cuts
    return [Cell(cell.number, "code", "\n".join(part), cell.offset + a - 1, cell.group) for a, part in zip(starts, parts)]


def cell_name(cell: Cell) -> str:
    """'cell 12', or 'the cell at line 40' of a .py export."""
    return f"cell {cell.number}" if cell.number is not None else f"the cell at line {cell.offset + 1}"


def rewrites(ex: int, cells: list[Cell], infos: dict[int, Info], members: list[int]) -> list[str]:
    """Notes for a graded name assigned afresh in more than one cell (the last one counts)."""
    notes, groups = [], {}  # the cells a name is written in -> [(name, "dX is written 2 times (where)")]
    for name in GRADED[ex]:
        spots = [(i, w.line) for i in members for w in infos[i].writes if w.name == name and w.kind == "assign"]
        if len({i for i, _ in spots}) > 1:
            where = ", ".join(_where(cells[i], line) for i, line in spots)
            groups.setdefault(tuple(sorted({i for i, _ in spots})), []).append(
                (name, f"{name} is written {len(spots)} times ({where})"))
    for items in groups.values():  # the exercise written out twice: one note, not one per gradient
        notes += [f"{said}; the last one counts" for _, said in items] if len(items) <= 3 else [
            f"{len(items)} gradients are written more than once, in the same cells: {items[0][1]}, "
            f"and so for {', '.join(n for n, _ in items[1:4])}, …; the last one counts"]
    return notes


def _where(cell: Cell, line: int) -> str:
    """'cell 12 line 3' (or 'line 40' in a .py file), for notes."""
    number, line = cell.where(line)
    return f"line {line}" if number is None else f"cell {number} line {line}"
