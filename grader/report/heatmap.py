"""A failing 2-D gradient's error map (CheckResult.error_map) as a small PNG heatmap, embedded as a data: URI."""
from __future__ import annotations

import base64
import functools
import io
import math


@functools.lru_cache(maxsize=2048)  # a class's maps, drawn as results arrive, used by the scorecards at the end
def _png(grid: tuple, shape: tuple, dpi: int) -> str:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure  # a Figure without pyplot: no global state, no GUI

    from matplotlib import colormaps
    from matplotlib.ticker import MaxNLocator

    rows, cols = len(grid), len(grid[0])
    top = max(max(row) for row in grid)
    cmap = colormaps["magma_r"].with_extremes(under="#e8ecf0")  # within tolerance: pale grey, so what is off stands out
    width = min(4.2, 1.9 + 2.3 * cols / max(rows, cols))
    height = min(3.0, 1.0 + 2.0 * rows / max(rows, cols))
    # fixed margins in inches, not a layout engine: constrained layout measured every label (~0.2 s a map, 4x this)
    fig = Figure(figsize=(width, height), dpi=dpi)
    left, right, bottom, top_margin, bar_width, gap = 0.5, 1.05, 0.42, 0.12, 0.12, 0.12
    ax = fig.add_axes((left / width, bottom / height, 1 - (left + right) / width, 1 - (bottom + top_margin) / height))
    cax = fig.add_axes(((width - right + gap) / width, bottom / height, bar_width / width,
                        1 - (bottom + top_margin) / height))
    extent = (-0.5, shape[1] - 0.5, shape[0] - 0.5, -0.5)
    image = ax.imshow(grid, cmap=cmap, norm=LogNorm(vmin=1.0, vmax=max(top, 10.0)), aspect="auto",
                      interpolation="nearest", extent=extent)
    ax.set_xlabel("column", fontsize=8)
    ax.set_ylabel("row", fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=6))
    ax.tick_params(labelsize=7)
    if shape[0] == 1:  # one row: its index, not fractions of it
        ax.set_yticks([0])
    bar = fig.colorbar(image, cax=cax, extend="min")
    bar.minorticks_off()  # a log scale's minor ticks: a dozen more labels to lay out, none read
    bar.ax.tick_params(labelsize=7)
    bar.set_label("error / tolerance (grey: within)" if height >= 2.0 else "error / tol.", fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def heatmap_uri(check, dpi: int = 100) -> str:
    """'data:image/png;base64,...' for a check with an error map, '' without one (or with an unusable one)."""
    grid = getattr(check, "error_map", None)
    if not grid or not all(isinstance(r, list) and r for r in grid) or len({len(r) for r in grid}) != 1:
        return ""
    try:
        cells = tuple(tuple(float(x) if math.isfinite(float(x)) else 1e12 for x in row) for row in grid)
    except (TypeError, ValueError):
        return ""
    shape = tuple(check.shape) if check.shape and len(check.shape) == 2 else (len(grid), len(grid[0]))
    return "data:image/png;base64," + _png(cells, shape, dpi)
