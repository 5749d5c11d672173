"""class.html: the score histogram (matplotlib, inlined as a PNG) and the page rendered from a ClassSummary."""
from __future__ import annotations

import base64
import io
import os
from pathlib import Path

from grader.report.scorecard import environment, write_atomic


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
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def preload() -> None:
    """Import matplotlib now (half a second), e.g. on a core the batch's last submissions leave idle."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def heat(rate: float | None) -> str:
    """A cell's background for a pass rate: red (0) through amber to green (1); grey with no attempt."""
    if rate is None:
        return "#eaeef2"
    return f"hsl({round(120 * rate)}, 70%, {round(82 - 8 * rate)}%)"


def class_html(summary) -> str:
    """The self-contained class report (inline CSS and image, no script, no network)."""
    if summary.percents and not summary.histogram:
        summary.histogram = data_uri(histogram_png(summary.percents))
    env = environment()
    env.filters["heat"] = heat
    return env.get_template("class.html.j2").render(summary=summary)


def write_class_html(summary, path: str | os.PathLike) -> Path:
    return write_atomic(path, class_html(summary))
