"""Render results: the jinja2 environment, the HTML scorecard, the JSON file."""
from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import tempfile
from pathlib import Path

import jinja2

from grader import __version__
from grader.report.heatmap import heatmap_uri
from grader.resources import resource_dir


def _shape(shape) -> str:
    if shape is None:
        return "–"
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def environment() -> jinja2.Environment:
    """Templates from templates/, autoescaped, with the few filters they use (built and compiled once)."""
    env = _environment()
    env.globals["generated"] = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return env


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
                             autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["shape"] = _shape
    env.globals.update(version=__version__, heatmap=heatmap_uri)
    return env


def render(template: str, **context) -> str:
    return environment().get_template(template).render(**context)


def scorecard_html(result, who: str = "", absent=()) -> str:
    """One self-contained HTML page (inline CSS, no network) for a SubmissionResult.

    `who` names the student (a batch's roster); `absent` lists the exercises the class was graded on that this
    submission lacks, as objects with id, title and max_score, so the total's denominator is the class's.
    """
    return render("scorecard.html.j2", result=result, who=who, absent=list(absent))


def write_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write a file so that a reader never sees half of it, readable by its owner only (0600).

    A folder it makes is 0700: one student's run, under a uid of its own, cannot read classmates' results.
    """
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # 0600
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def to_json(result) -> str:
    return json.dumps(result.to_dict(), indent=2, sort_keys=False) + "\n"


def write_json(result, path) -> Path:
    return write_atomic(path, to_json(result))


def write_html(result, path) -> Path:
    return write_atomic(path, scorecard_html(result))
