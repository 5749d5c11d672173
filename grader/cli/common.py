"""What the commands share: the --names option, opening a Grader, options from a rubric and flags, exit codes."""
from __future__ import annotations

import contextlib
import signal
from pathlib import Path

import click

from grader.data import DataError
from grader.sandbox.runner import GraderError
from grader.submissions.files import SUBMISSION_SUFFIXES

# exit codes, as pytest's where they apply
OK, CHECKS_FAIL, USAGE, NOTHING_TO_GRADE, INTERRUPTED = 0, 1, 2, 5, 130

names_option = click.option("--names", "names", type=click.Path(dir_okay=False), default=None,
                            help="names.txt to use (default: $BACKPROP_NINJA_NAMES, else a cached download).")


def open_grader(names, **kwargs):
    """A Grader whose worker is a fork of this command's process (no second import of torch).

    Forking is safe here and only here: the command's process is fresh and holds nothing a student's
    code may see (no reference gradient, no other submission) until the Grader computes it, after the fork.
    """
    from grader import data
    from grader.grading import Grader
    from grader.sandbox.runner import Sandbox
    from grader.training import CHILD_TASKS

    try:
        path = data.names_path(names)
        dataset = data.load(path)
    except DataError as exc:
        raise click.ClickException(str(exc)) from None
    sandbox = Sandbox(path, CHILD_TASKS)
    sandbox.start_forked(dataset)
    return Grader(path, sandbox=sandbox, dataset=dataset, **kwargs)


def run_grader(grader, paths, exercise=None):
    try:
        return grader.grade(paths, exercise)
    except GraderError as exc:
        raise click.ClickException(f"grader failure (not your code): {exc}") from None


def build_options(rubric=None, full=False, steps=None, time_limit=None, progress=False):
    """Options from a rubric file (or the defaults) and the command line's overrides."""
    import dataclasses

    from grader.options import Options

    if rubric:
        from grader.course.rubric import RubricError, load_rubric

        try:
            options = load_rubric(rubric)
        except RubricError as exc:
            raise click.BadParameter(str(exc), param_hint="--rubric") from None
    else:
        options = Options()
    options.ex4 = {**options.ex4, "full": full, "progress": progress}
    if steps is not None:
        options.ex4["steps"] = steps
    if time_limit is not None:
        options.limits = dataclasses.replace(options.limits, seconds=time_limit)
        options.ex4["time_limit"] = time_limit
    return options


class CtrlC:
    """Whether Ctrl-C was pressed, even when the grader absorbed it (exercise 4 then stops training early)."""

    seen = False


@contextlib.contextmanager
def watch_ctrl_c():
    """Note each SIGINT in the yielded CtrlC, then raise KeyboardInterrupt as Python's own handler does."""
    state = CtrlC()

    def handler(signum, frame):
        state.seen = True
        signal.default_int_handler(signum, frame)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


def nothing_found(paths) -> str:
    """Why a command line had nothing to grade: the files each folder held, and that they were ignored."""
    parts = []
    for path in map(Path, paths):
        if not path.is_dir():
            continue
        files = sorted(p.name for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        code = [f for f in files if Path(f).suffix in SUBMISSION_SUFFIXES]
        other = [f for f in files if f not in code]
        if code:
            parts.append(f"{path}: looked at {_names(code)}; none assigns an exercise's gradients")
        else:
            parts.append(f"{path}: no .py or .ipynb file in it" + (f" (ignored: {_names(other)})" if other else " (it is empty)"))
    return "; ".join(parts)


def _names(files: list[str], most: int = 6) -> str:
    return ", ".join(files[:most]) + (f" and {len(files) - most} more" if len(files) > most else "")
