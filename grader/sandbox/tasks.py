"""What a child can run besides exercises 1-3: a registry of tasks by exercise id, filled from above.

A package above the sandbox registers the child's side of its exercise here at import time
(grader/training/loop.py registers exercise 4's training loop); the parent names the modules to
import in the worker (Sandbox(tasks=...)). So the sandbox runs exercise 4 without importing it.
A task is `fn(request, ds, ready) -> frame` and gets a child of its own (no session).
"""
from __future__ import annotations

import importlib
from typing import Callable

_TASKS: dict[int, Callable] = {}


def register(exercise: int, fn: Callable) -> None:
    """Make `fn` the child's run of `exercise` (called by the module that defines it, at import)."""
    _TASKS[int(exercise)] = fn


def load(modules) -> None:
    """Import the modules that register tasks (in the worker, before it forks any child)."""
    for name in modules:
        importlib.import_module(name)


def has(exercise) -> bool:
    """Whether `exercise` is a registered task rather than an exercise-1-3 session run."""
    return exercise in _TASKS


def run(request: dict, ds, ready) -> dict:
    """Run the task the request names, in the child."""
    return _TASKS[request["exercise"]](request, ds, ready=ready)
