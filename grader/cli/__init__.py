"""The `backprop-ninja` command: parse, call the library, print. Exit 0 all pass, 1 not, 2 usage.

Each command lives in its own module (grade.py, batch.py) and only delegates to the library;
this package may import everything below it.
"""
from __future__ import annotations

import os
import sys

import click

from grader import __version__
from grader.cli import batch as _batch, grade as _grade
from grader.cli.common import build_options  # noqa: F401 - re-exported: grader.cli.build_options


@click.group()
@click.version_option(__version__, prog_name="backprop-ninja")
def cli():
    """backprop-ninja: grade hand-written backprop against PyTorch autograd.

    \b
    Example:
      backprop-ninja start my-work && backprop-ninja grade my-work/
    """


cli.add_command(_grade.grade)
cli.add_command(_grade.check_solutions)
cli.add_command(_grade.start)
_batch.register(cli)


def main():
    """The console script: run the command, then leave without tearing torch or matplotlib down (~0.3 s of
    every command that grades; ~0.15 s of a batch, whose own process draws its plots)."""
    try:
        cli(prog_name="backprop-ninja")
    except SystemExit as exc:
        if "torch" not in sys.modules and "matplotlib" not in sys.modules:
            raise
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)  # every file is written and closed by now; only the interpreter's teardown is skipped
