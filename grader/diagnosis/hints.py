"""Hints as data: three levels per gradient, each one step closer without giving the answer."""
from __future__ import annotations

HINTS: dict = {}


def hints_for(exercise: int, name: str) -> list[str]:
    """The three hints of d<name> in `exercise` (exercise 2's dlogits and 3's dhprebn are the fused ones)."""
    return list(HINTS.get((exercise, name)) or HINTS.get((0, name)) or ())
