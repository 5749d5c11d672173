"""Loss curves as a PNG (matplotlib's Agg backend, no display), base64-encoded for a self-contained HTML page.

Autograd's curve is the reference: a wide neutral grey band drawn first; the student's is a thin blue line
on top, so identical curves read as "blue on grey" (never a blend), and a gap shows as blue off the band.
Panels are stacked (one column) and the figure is phone-width friendly: it is shown at 100% of the card.
"""
from __future__ import annotations

import base64
import io

REFERENCE, STUDENT = "autograd", "your gradients"
STYLE = {STUDENT: {"color": "#0969da", "linewidth": 1.4, "zorder": 3},
         REFERENCE: {"color": "#8c959f", "linewidth": 5.0, "alpha": 0.55, "solid_capstyle": "round", "zorder": 2}}
LABELS = {STUDENT: "your gradients (blue)", REFERENCE: "autograd, the reference (grey band)"}


def loss_curves_png(panels: list[dict], dpi: int = 120) -> str:
    """One subplot per panel {"title", "block", "series": {label: [mean log10 loss per block]}}; '' if nothing to draw."""
    panels = [p for p in panels if any(p["series"].values())]
    if not panels:
        return ""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # a Figure without pyplot: no global state, no GUI

    height = 2.9 * len(panels)
    fig = Figure(figsize=(5.0, height), dpi=dpi)  # ~600 px wide, stacked: legible at 390 px; fixed margins: fast
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.55 / height, top=1 - 0.35 / height, hspace=0.9 / 2.9)
    for ax, panel in zip(fig.subplots(len(panels), 1, squeeze=False)[:, 0], panels):
        block = panel["block"]
        order = sorted(panel["series"].items(), key=lambda kv: kv[0] != REFERENCE)  # the reference first, underneath
        for label, ys in order:
            if ys:
                ax.plot([block * (k + 1) for k in range(len(ys))], ys, label=LABELS.get(label, label), **STYLE.get(label, {}))
        ax.set_title(f"loss while training, {panel['title']}", fontsize=11)
        ax.set_xlabel("training step", fontsize=10)
        ax.set_ylabel(f"log10 loss\n(mean of {block:,} steps)", fontsize=10)
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9, loc="upper right")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return base64.b64encode(buf.getvalue()).decode("ascii")
