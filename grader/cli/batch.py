"""The `batch` command and the `gradescope` group: parse, call grader.batch / grader.gradescope, print."""
from __future__ import annotations

import os
import sys

import click

from grader.cli.common import CHECKS_FAIL, INTERRUPTED, NOTHING_TO_GRADE, OK


class RichProgress:
    """A progress bar with counts, elapsed time and ETA (rich), fed by the batch."""

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self._progress = None
        self._task = None
        self.failed = 0

    def start(self, total: int, skipped: int) -> None:
        if self.quiet:
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        if skipped:
            click.echo(f"{skipped} of {total} submissions unchanged since the last run: not graded again")
        self._progress = Progress(TextColumn("[bold]grading"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("[red]{task.fields[failed]}"), TimeElapsedColumn(), TextColumn("ETA"),
                                  TimeRemainingColumn(), transient=False)
        self._progress.start()
        self._task = self._progress.add_task("grading", total=total, completed=skipped, failed="")

    def advance(self, key: str, ok: bool) -> None:
        self.failed += not ok
        if self._progress is not None:
            self._progress.update(self._task, advance=1, failed=f"{self.failed} failed" if self.failed else "")

    def stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()


@click.command()
@click.argument("input_path", metavar="INPUT", type=click.Path(exists=True))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder: grades.csv, class.html, students/<key>.html and .json.")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Submissions graded at once, each by its own warm worker (default: all cores).")
@click.option("--rubric", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A TOML rubric: points, tolerance, variants, limits, integrity (docs/rubric.md).")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A CSV that names the students (columns: submission/student_id/email, name, ...).")
@click.option("--exercise", "-e", type=click.IntRange(1, 4), default=None, help="Grade only this exercise.")
@click.option("--dask", "dask_address", metavar="ADDRESS", default=None,
              help="Run on this Dask scheduler (e.g. tcp://10.0.0.5:8786) instead of local cores.")
@click.option("--steps", type=click.IntRange(1), default=None, help="Exercise 4: steps of the quick check.")
@click.option("--time-limit", type=click.FloatRange(min=0.1), default=None, help="Seconds each run may take.")
@click.option("--title", default="backprop-ninja class report", show_default=True, help="class.html's title.")
@click.option("--format", "gradebook", type=click.Choice(["csv", "canvas", "moodle"]), default="csv", show_default=True,
              help="Also write OUT/grades-canvas.csv (Canvas's gradebook import) or OUT/grades-moodle.csv "
                   "(Moodle, Blackboard): see docs/batch.md.")
@click.option("--assignment", default="backprop-ninja", show_default=True,
              help="The grade column's name in --format canvas/moodle (the gradebook's assignment).")
@click.option("--force", is_flag=True, help="Grade every submission again, even unchanged ones.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar; print only the summary line.")
@click.option("--names", "names", type=click.Path(dir_okay=False), default=None,
              help="names.txt to use (default: $BACKPROP_NINJA_NAMES, else a cached download).")
def batch(input_path, out_dir, jobs, rubric, roster, exercise, dask_address, steps, time_limit, title, gradebook, assignment,
          force, quiet, names):
    """Grade a whole class: every submission in INPUT, a folder or a course platform's .zip export.

    Recognises Gradescope's export (submission_metadata.yml), Canvas's name_userid_submissionid_file
    names, Moodle's folder per student, or one file/folder per student; --roster renames them.
    Writes OUT/grades.csv, OUT/class.html and a scorecard per student. Re-running skips the
    submissions that have not changed, so an interrupted batch just continues.

    Exits 0 when every submission was graded, 1 when the grader failed on some (re-run to retry),
    5 when INPUT holds no submission, 130 when interrupted (Ctrl-C: grades.csv and class.html are
    written from the submissions that finished; the same command again grades the rest).

    \b
    Examples:
      backprop-ninja batch submissions.zip --out grades/ --rubric rubric.toml
      backprop-ninja batch moodle-export/ --out grades/ --roster roster.csv --jobs 8
      backprop-ninja batch submissions.zip --out grades/ --dask tcp://scheduler:8786
      backprop-ninja batch canvas.zip --out grades/ --format canvas --assignment "Backprop ninja"
    """
    from grader.course.batch import BatchError, run_batch
    from grader.cli.common import build_options
    from grader.data import DataError
    from grader.course.identity import IdentityError

    options = build_options(rubric, False, steps, time_limit, progress=False)
    progress = RichProgress(quiet)
    try:
        result = run_batch(input_path, out_dir, names=names, options=options, jobs=jobs or os.cpu_count() or 1,
                           roster=roster, exercise=exercise, dask=dask_address, title=title, force=force,
                           progress=progress)
    except (BatchError, DataError, IdentityError) as exc:
        raise click.ClickException(str(exc)) from None
    except ImportError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:  # before any grading began, or while writing the outputs
        progress.stop()
        click.echo("interrupted (Ctrl-C)", err=True)
        sys.exit(INTERRUPTED)
    extra = ""
    if gradebook != "csv" and result.grades_csv.is_file():
        from grader.course.export import write_gradebook

        extra = f", {write_gradebook(result.grades_csv, gradebook, assignment)}"
    if not quiet:
        for note in result.notes:
            click.echo(f"note: {note}")
    for warning in result.warnings:  # roster problems: on stderr, even with --quiet
        click.echo(f"warning: {warning}", err=True)
    for key, message in result.failed:
        click.echo(f"grader failure (not the student's code) on {key}: {message}", err=True)
    if not result.submissions:
        click.echo(f"nothing to grade: no submission found in {input_path}", err=True)
    if result.interrupted:
        click.echo(f"interrupted (Ctrl-C): {result.graded} graded before it; run the same command again to grade the rest",
                   err=True)
    click.echo(f"{result.submissions} submissions: {result.graded} graded, {result.skipped} unchanged, "
               f"{len(result.failed)} failed in {result.seconds:.1f} s -> {result.grades_csv}, {result.class_html}{extra}")
    sys.exit(INTERRUPTED if result.interrupted else NOTHING_TO_GRADE if not result.submissions else
             CHECKS_FAIL if result.failed else OK)


@click.group()
def gradescope():
    """Gradescope: build the autograder zip (then grade with `grade --gradescope`).

    \b
    Example:
      backprop-ninja gradescope build --rubric rubric.toml --out autograder.zip
    """


@gradescope.command("build")
@click.option("--out", "out_path", default="autograder.zip", show_default=True, type=click.Path(dir_okay=False),
              help="Where to write the autograder zip.")
@click.option("--rubric", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A TOML rubric to grade with (checked now, shipped in the zip).")
@click.option("--torch-index", default=None,
              help="The pip index setup.sh installs CPU torch from (default: PyTorch's CPU wheels).")
@click.option("--names", "names", type=click.Path(dir_okay=False), default=None,
              help="names.txt to ship in the zip (default: $BACKPROP_NINJA_NAMES, else a cached download).")
def gradescope_build(out_path, rubric, torch_index, names):
    """Write Gradescope's autograder zip: setup.sh and run_autograder at its root, the grader and names.txt inside.

    Upload it as the assignment's autograder (Ubuntu base image). Each submission then gets a
    results.json with one test per gradient; verdicts from hidden variants show once published.

    \b
    Example:
      backprop-ninja gradescope build --rubric rubric.toml --out autograder.zip
    """
    from grader.data import DataError
    from grader.course.gradescope import build_autograder
    from grader.course.rubric import RubricError

    try:
        path = build_autograder(out_path, names=names, rubric=rubric, **({"torch_index": torch_index} if torch_index else {}))
    except (DataError, RubricError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {path}: upload it as the Gradescope autograder")


def register(cli: click.Group) -> None:
    """Add `batch` and `gradescope` to the main command group."""
    cli.add_command(batch)
    cli.add_command(gradescope)
