"""class.html: the score histogram (matplotlib, inlined as a PNG) and the page rendered from a ClassSummary."""
from __future__ import annotations

import base64
import io
import os
from dataclasses import dataclass
from pathlib import Path

from grader.exercises import EXERCISES
from grader.report.heatmap import heatmap_uri
from grader.report.scorecard import environment, scorecard_html, write_atomic
from grader.results import CheckResult, SubmissionResult


def histogram_png(percents: list[float], bins: int = 10) -> bytes:
    """A histogram of the students' totals, in percent of the maximum (a PNG)."""
    from matplotlib.figure import Figure  # the object API: no pyplot state, safe next to threads

    fig = Figure(figsize=(7.0, 2.6), dpi=100)
    ax = fig.add_subplot()
    ax.hist(percents, bins=bins, range=(0, 100), color="#1a7f37", edgecolor="white")
    ax.set_xlabel("total score (% of the maximum)")
    ax.set_ylabel("students")
    ax.set_xlim(0, 100)
    ax.yaxis.get_major_locator().set_params(integer=True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.subplots_adjust(left=0.085, right=0.975, bottom=0.19, top=0.96)  # fixed margins: tight_layout measures every label
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def preload() -> None:
    """Import matplotlib now (half a second), e.g. on a core the batch's last submissions leave idle."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def draw_heatmaps(result: dict) -> None:
    """Draw a graded submission's error maps (grader/report/heatmap.py caches them for its scorecard)."""
    for exercise in result.get("exercises") or ():
        for check in exercise.get("checks") or ():
            if check.get("error_map"):  # the scorecard's CheckResult gives the same picture, from the cache
                heatmap_uri(CheckResult(check.get("name", ""), check.get("status", ""), shape=check.get("shape"),
                                        error_map=check["error_map"]))


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# the heatmap's colour scale: five steps of 20%, each a clearly different hue (40% and 60% are two steps apart)
HEAT_STEPS = ((0.2, "#ff9492"), (0.4, "#ffc285"), (0.6, "#ffe27a"), (0.8, "#c2e89a"), (1.01, "#74d38b"))
NO_ATTEMPT = "#eaeef2"


def heat(rate: float | None) -> str:
    """A cell's background for a pass rate: red below 20%, orange, yellow, light green, green from 80%; grey with no attempt."""
    if rate is None:
        return NO_ATTEMPT
    return next(colour for top, colour in HEAT_STEPS if rate < top)


def plural(n: int, word: str, many: str = "") -> str:
    """'1 timeout', '2 timeouts', '1 crash', '3 crashes'."""
    if n == 1:
        return f"1 {word}"
    return f"{n} {many or (word + 'es' if word.endswith(('s', 'sh', 'ch', 'x')) else word + 's')}"


def class_html(summary) -> str:
    """The self-contained class report (inline CSS and image, no script, no network)."""
    if summary.percents and not summary.histogram:
        summary.histogram = data_uri(histogram_png(summary.percents))
    env = environment()
    env.filters["heat"] = heat
    env.filters["plural"] = plural
    env.globals["heat_steps"] = HEAT_STEPS
    return env.get_template("class.html.j2").render(summary=summary)


def write_class_html(summary, path: str | os.PathLike) -> Path:
    return write_atomic(path, class_html(summary))


@dataclass
class Absent:
    """An exercise the class is graded on that one submission lacks (its scorecard counts it 0 of max_score)."""

    id: int
    title: str
    max_score: float


def write_scorecards(summary, records: dict, folder: str | os.PathLike) -> list[tuple[str, str]]:
    """Write each graded student's scorecard, naming them and out of the same total as grades.csv.

    Returns (key, why) for each scorecard that could not be written: one stops nobody else's.
    """
    rows: dict[str, list] = {}
    for row in summary.rows:
        rows.setdefault(row.key, []).append(row)
    failed = []
    for key, record in records.items():
        try:
            result = SubmissionResult.from_dict(record["result"])
            who = ", ".join(f"{r.name} ({r.student_id})" if r.student_id and r.student_id != r.name else r.name
                            for r in rows.get(key, []) if r.name)
            result.exercises = [ex for ex in result.exercises if ex.found]  # one not found is shown as not submitted
            absent = [Absent(e, EXERCISES[e].title, summary.possible.get(e, 0.0)) for e in summary.exercises
                      if e in EXERCISES and result.exercise(e) is None]
            write_atomic(Path(folder) / f"{key}.html", scorecard_html(result, who=who, absent=absent))
        except Exception as exc:  # noqa: BLE001 - the grader's failure on one scorecard, reported in the batch's result
            failed.append((key, f"could not write the scorecard: {type(exc).__name__}: {exc}"))
    return failed
