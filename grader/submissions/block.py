"""Exercise 4's answer in a training-loop cell: the backward block between `loss = ...` and the update."""
from __future__ import annotations

import ast
import re

from grader.submissions.notebook import (EX4_WRITES, _TEXT_UPDATE, Info, _LOOP_CONTROL, _LOOP_HEADER, _assigns_loss,
                                         _indent, _is_update, writes_of)


def _block_span(info: Info) -> tuple[int, int] | None:
    """First and last line of the backward block: after `loss = ...`, before the parameter update."""
    if not isinstance(info.loop, ast.AST):
        return _text_block_span(info.code.split("\n"))
    spots = [(stmts, k) for node in ast.walk(info.loop) for field in ("body", "orelse", "finalbody")
             for stmts in [getattr(node, field, None)] if isinstance(stmts, list)
             for k, stmt in enumerate(stmts) if _assigns_loss(stmt)]
    if not spots:
        return None
    # the training loss is the one the gradients or the update follow (a validation loss under
    # `if i % 10 == 0:` after the update is not)
    leads = [spot for spot in spots if any(_is_update(s) or {w.name for w in writes_of(s)} & EX4_WRITES
                                           for s in spot[0][spot[1] + 1:])]
    stmts, k = max(leads or spots, key=lambda spot: spot[0][spot[1]].lineno)
    start, rest = stmts[k].end_lineno + 1, stmts[k + 1:]
    ends = [s.lineno - 1 for s in rest if _is_update(s)]
    if ends:
        return start, ends[0]
    grads = [s.end_lineno for s in rest if {w.name for w in writes_of(s)} & EX4_WRITES]
    return start, grads[-1] if grads else rest[-1].end_lineno if rest else start - 1


def _text_block_span(lines: list[str]) -> tuple[int, int] | None:
    """The backward block found by text, for a loop cell that does not parse."""
    starts = [k for k, line in enumerate(lines) if re.match(r"^\s+loss\s*=[^=]", line)]
    if not starts:
        return None
    k, depth, indent = starts[-1], 0, _indent(lines[starts[-1]])
    while True:  # the loss statement may span lines
        depth += sum(map(lines[k].count, "([{")) - sum(map(lines[k].count, ")]}"))
        if depth <= 0 or k + 1 >= len(lines):
            break
        k += 1
    end = k + 1
    for j in range(k + 1, len(lines)):
        code = lines[j].strip() and not lines[j].lstrip().startswith("#")
        if _TEXT_UPDATE.match(lines[j]) or code and _indent(lines[j]) < indent:
            break
        end = j + 1
    return k + 2, end


def dedent(lines: list[str]) -> list[str]:
    """Strip the block's common indentation; comments and blank lines may sit further left."""
    code = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    prefix = min((line[: _indent(line)] for line in code), key=len, default="")
    return [line[len(prefix):] if line.startswith(prefix) else line.lstrip() for line in lines]


def drop_loop_control(lines: list[str]) -> list[str]:
    """`break`/`continue` outside any loop of the block become `pass` on the same line."""
    out, loops = [], []
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            while loops and _indent(line) <= loops[-1]:
                loops.pop()
            control = _LOOP_CONTROL.match(line) if len(line) <= 10_000 else None
            if _LOOP_HEADER.match(line):
                loops.append(_indent(line))
            elif control and not loops:
                line = control.group(1) + "pass" + control.group(2)
        out.append(line)
    return out


def training_block(info: Info) -> list[tuple[int, str]]:
    """Exercise 4's answer: (line in cell, text) of the backward block, dedented, without trailing comments."""
    span = _block_span(info)
    lines = info.code.split("\n")
    numbers = list(range(span[0], span[1] + 1)) if span else []
    while numbers and not lines[numbers[0] - 1].strip():
        numbers.pop(0)
    while numbers and (not lines[numbers[-1] - 1].strip() or lines[numbers[-1] - 1].lstrip().startswith("#")):
        numbers.pop()
    return list(zip(numbers, drop_loop_control(dedent([lines[k - 1] for k in numbers]))))
