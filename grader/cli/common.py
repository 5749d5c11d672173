"""What the commands share: the --names option, opening a Grader, options from a rubric and flags."""
from __future__ import annotations

import click

from grader.data import DataError
from grader.sandbox.runner import GraderError

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
