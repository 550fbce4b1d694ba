"""Charts as inline SVG text (matplotlib, Agg backend): embedded in the report and the dashboard pages.

SVG keeps text as text (``svg.fonttype: none``), scales on a phone, and needs no network or
script to display. matplotlib is imported on first use, so ``serve`` pays for it only when a
page with a chart is rendered.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#718096", "#b7791f", "#e53e3e")
"""Colour-blind-friendly enough, and distinct in greyscale print."""


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams.update(
        {
            "svg.fonttype": "none",
            "svg.hashsalt": "kubetally",  # stable ids: the same data gives the same file
            "font.family": "sans-serif",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
        }
    )
    import matplotlib.pyplot as plt

    return plt


def _label(name: str) -> str:
    """matplotlib hides legend entries that start with "_": __idle__ is shown as (idle)."""
    return f"({name.strip('_')})" if name.startswith("_") else name


def _svg(fig: Any) -> str:
    out = io.StringIO()
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": "kubetally"})
    _pyplot().close(fig)
    text = out.getvalue()
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)  # RDF creator/date block: not needed
    return text[text.index("<svg") :]


def stacked_bars(categories: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str, ylabel: str) -> str:
    """One bar per category (e.g. day), stacked by series (e.g. team)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    bottom = [0.0] * len(categories)
    for i, (name, values) in enumerate(series.items()):
        ax.bar(categories, values, bottom=bottom, label=_label(name), color=PALETTE[i % len(PALETTE)], width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_title(title, loc="left")
    ax.set_ylabel(ylabel)
    ax.tick_params(axis="x", labelrotation=45 if len(categories) > 7 else 0)
    ax.legend(fontsize=7, ncols=min(4, max(1, len(series))), loc="upper left", bbox_to_anchor=(0, -0.25))
    return _svg(fig)


def grouped_bars(categories: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str, ylabel: str) -> str:
    """Bars side by side per category (e.g. allocatable / requested / used per node)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    n = max(1, len(series))
    width = 0.8 / n
    for i, (name, values) in enumerate(series.items()):
        xs = [x + (i - (n - 1) / 2) * width for x in range(len(categories))]
        ax.bar(xs, values, width=width, label=name, color=PALETTE[i % len(PALETTE)])
    ax.set_xticks(range(len(categories)), list(categories))
    ax.set_title(title, loc="left")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7, ncols=n, loc="lower right", bbox_to_anchor=(1, 1.0), frameon=False)
    return _svg(fig)


def cost_vs_value(
    tiers: Sequence[str], cost: Sequence[float], efficiency: Sequence[float | None], *, currency: str
) -> str:
    """Spend per tier (bars) next to its efficiency (dots, right axis): what each tier costs for what it uses."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 3.0))
    ax.bar(tiers, cost, color=PALETTE[0], label=f"monthly spend ({currency})")
    ax.set_ylabel(f"{currency} / month")
    right = ax.twinx()
    right.grid(False)
    shown = [(t, e * 100) for t, e in zip(tiers, efficiency, strict=True) if e is not None]
    if shown:
        right.plot([t for t, _ in shown], [e for _, e in shown], "o", color=PALETTE[1], label="efficiency (%)")
    right.set_ylim(0, 100)
    right.set_ylabel("efficiency %")
    right.spines["right"].set_visible(True)
    ax.set_title("Cost vs value: spend per criticality tier and how much of it is used", loc="left")
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=7, loc="upper right")
    return _svg(fig)
