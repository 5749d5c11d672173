"""`grade`, `check-solutions` and `start`: one student's work, the reference solutions, fresh stubs."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from grader.cli.common import (CHECKS_FAIL, INTERRUPTED, NOTHING_TO_GRADE, OK, build_options, names_option, nothing_found,
                               open_grader, run_grader, watch_ctrl_c)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--exercise", "-e", type=click.IntRange(1, 4), default=None,
              help="Grade only this exercise (and read a plain .py file as its code).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), default=None, help="Write the result as JSON here.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), default=None, help="Write an HTML scorecard here.")
@click.option("--gradescope", "gradescope_path", type=click.Path(dir_okay=False), default=None,
              help="Write Gradescope's results.json here (always written, even if grading fails).")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False), default=None, help="Write JUnit XML here.")
@click.option("--classroom", "classroom_path", type=click.Path(dir_okay=False), default=None,
              help="GitHub Classroom: append the autograding result (one test per gradient) to this file, "
                   "e.g. \"$GITHUB_OUTPUT\" (docs/github-classroom.md).")
@click.option("--rubric", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A TOML rubric: points, tolerances, variants, limits (defaults: see README).")
@click.option("--full", is_flag=True, help="Exercise 4: train all 200,000 steps (slow) instead of the quick check.")
@click.option("--steps", type=click.IntRange(1), default=None, help="Exercise 4: steps of the quick check.")
@click.option("--time-limit", type=click.FloatRange(min=0.1), default=None, help="Seconds each run may take.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the total.")
@names_option
def grade(paths, exercise, json_path, html_path, gradescope_path, junit_path, classroom_path, rubric, full, steps, time_limit, quiet, names):
    """Grade one student's work: stub files, a folder of stubs, a notebook, or one cell's code.

    Exits 0 when every graded check passes, 1 when any does not, 2 for a usage error, 5 when there
    is nothing to grade, 130 when interrupted (Ctrl-C): what finished is still printed and written.

    \b
    Examples:
      backprop-ninja grade exercises/
      backprop-ninja grade my_cell.py --exercise 2 --html scorecard.html --json result.json
      backprop-ninja grade ex4.py --full --time-limit 3600
    """
    from grader.grading import Interrupted
    from grader.report import console

    options = build_options(rubric, full, steps, time_limit, progress=not quiet)
    options.ex4["plot"] = bool(html_path or json_path)  # exercise 4's loss-curve PNG: matplotlib costs ~0.5 s cold
    result = None
    with watch_ctrl_c() as ctrl_c:
        try:
            with open_grader(names, options=options) as grader:
                result = run_grader(grader, paths, exercise)
        except Interrupted as exc:
            result = exc.result
        except KeyboardInterrupt:
            pass
        except click.ClickException as exc:
            if gradescope_path:  # Gradescope must always get a results.json
                from grader.course.export import write_gradescope_failure

                write_gradescope_failure(exc.format_message(), gradescope_path)
            raise
    if result is None:
        click.echo("interrupted (Ctrl-C) before anything was graded", err=True)
        sys.exit(INTERRUPTED)
    if ctrl_c.seen:
        result.notes.append("interrupted (Ctrl-C): only what finished is graded; grade again for the rest")
    elif not any(ex.found for ex in result.exercises):  # no exercise at all (a notebook lists all four, not found)
        why = nothing_found(paths)
        result.error = why if why and result.error in ("", "no exercise found") else "; ".join(x for x in (result.error, why) if x)
    hint_exercise(result, paths, exercise)
    if quiet:
        click.echo(f"{result.score:g}/{result.max_score:g}")
    else:
        console.print_result(result)
    if json_path or html_path:
        from grader.report import scorecard as report  # jinja2 only when a file is asked for

        if json_path:
            report.write_json(result, json_path)
        if html_path:
            report.write_html(result, html_path)
    if gradescope_path:
        from grader.course.export import write_gradescope

        write_gradescope(result, gradescope_path)
    if junit_path:
        from grader.course.export import write_junit

        write_junit(result, junit_path)
    if classroom_path:
        from grader.course.export import write_classroom

        write_classroom(result, classroom_path)
    nothing = not any(ex.found for ex in result.exercises)
    sys.exit(INTERRUPTED if ctrl_c.seen else NOTHING_TO_GRADE if nothing else OK if result.passed else CHECKS_FAIL)


def hint_exercise(result, paths, exercise) -> None:
    """`-e 3` on exercise 2's file: say which exercise the file looks like, not just "not attempted"."""
    from grader.submissions.reader import SubmissionError, load_submission

    graded = result.exercise(exercise) if exercise else None
    if exercise is None or (graded is not None and graded.attempted) or len(paths) != 1 or Path(paths[0]).is_dir():
        return
    try:
        found = sorted(load_submission(Path(paths[0])).exercises)
    except (SubmissionError, OSError, ValueError):
        return
    others = [n for n in found if n != exercise]
    if others and exercise not in found:
        which = " and ".join(f"exercise {n}" for n in others)
        hint = (f"{Path(paths[0]).name} looks like {which}, not exercise {exercise}: "
                f"grade it with --exercise {others[0]}, or without --exercise")
        (graded.notes if graded is not None else result.notes).insert(0, hint)


@click.command("check-solutions")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False))
@names_option
def check_solutions(directory, names):
    """Grade the reference solutions; exit 0 only if every one scores full marks (for course CI).

    DIRECTORY defaults to ./solutions, or the solutions shipped with the grader.

    \b
    Example:
      backprop-ninja check-solutions solutions/
    """
    from grader.report import console
    from grader.resources import resource_dir

    folder = Path(directory) if directory else (Path("solutions") if Path("solutions").is_dir() else resource_dir("solutions"))
    with open_grader(names) as grader:
        result = run_grader(grader, [folder])
    console.print_result(result)
    full = result.passed and result.max_score > 0 and result.score == result.max_score
    click.echo(f"{len(result.exercises)} solutions in {folder}: " + ("all full marks" if full else "NOT all full marks"))
    sys.exit(0 if full else 1)


@click.command()
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite stubs that already exist.")
def start(directory, force):
    """Copy fresh exercise stubs into DIRECTORY for a student to fill in.

    \b
    Example:
      backprop-ninja start my-work && backprop-ninja grade my-work/
    """
    from grader.resources import resource_dir

    dest = Path(directory)
    dest.mkdir(parents=True, exist_ok=True)
    for stub in sorted(resource_dir("exercises").glob("ex*.py")):
        target = dest / stub.name
        if target.exists() and not force:
            click.echo(f"kept {target} (exists; --force overwrites)")
            continue
        shutil.copyfile(stub, target)
        click.echo(f"wrote {target}")
    click.echo(f"fill in the TODO lines, then: backprop-ninja grade {dest}")
