"""Loss curves as a PNG (matplotlib's Agg backend, no display), base64-encoded for a self-contained HTML page."""
from __future__ import annotations

import base64
import io

STYLE = {"your gradients": {"color": "#0969da", "linewidth": 1.6}, "autograd": {"color": "#cf222e", "linewidth": 1.0,
                                                                             "linestyle": "--"}}


def loss_curves_png(panels: list[dict], dpi: int = 90) -> str:
    """One subplot per panel {"title", "block", "series": {label: [mean log10 loss per block]}}; '' if nothing to draw."""
    panels = [p for p in panels if any(p["series"].values())]
    if not panels:
        return ""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # a Figure without pyplot: no global state, no GUI

    width = 4.6 * len(panels) + 1.0
    fig = Figure(figsize=(width, 3.2), dpi=dpi)  # fixed margins: the constrained layout doubles the drawing time
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.15 / width, bottom=0.16, top=0.9, wspace=0.75 / 4.6)
    for ax, panel in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels):
        block = panel["block"]
        for label, ys in panel["series"].items():
            if ys:
                ax.plot([block * (k + 1) for k in range(len(ys))], ys, label=label, **STYLE.get(label, {}))
        ax.set_title(panel["title"], fontsize=10)
        ax.set_xlabel("step", fontsize=9)
        ax.set_ylabel(f"log10 loss (mean per {block:,} steps)", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")
