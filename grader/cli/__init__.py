"""The `backprop-ninja` command: parse, call the library, print. Exit 0 all pass, 1 not, 2 usage.

Each command lives in its own module (grade.py, batch.py) and only delegates to the library;
this package may import everything below it.
"""
from __future__ import annotations

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
    cli(prog_name="backprop-ninja")
