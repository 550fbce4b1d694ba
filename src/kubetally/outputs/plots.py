"""Charts as inline SVG text, written by hand: embedded in the report and the dashboard pages.

SVG keeps text as text, scales on a phone (a ``viewBox``, no fixed size) and needs no network or script to
display. No plotting library: a chart is a few dozen rectangles, a nice axis and a legend, and drawing them
here costs milliseconds (matplotlib cost ``serve`` ~5 CPU-seconds per computation). Every bar carries a
``<title>`` with its value (a tooltip on hover, read by screen readers). The same data gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#319795", "#718096", "#b7791f", "#e53e3e")
"""Colour-blind-friendly enough, and distinct in greyscale print."""

WIDTH = 750.0
FONT = 11.0
CHAR = 0.56 * FONT
"""Estimated width of one character of the sans-serif font (layout only: the text is drawn by the browser)."""
_LEFT, _RIGHT, _TOP = 58.0, 14.0, 30.0
_AXIS = 'stroke="#4a5568" stroke-width="1"'
_GRID = 'stroke="#e2e8f0" stroke-width="1"'


def _label(name: str) -> str:
    """``__idle__`` is shown as ``(idle)``."""
    return f"({name.strip('_')})" if name.startswith("_") else name


def _number(value: float) -> float:
    return value if isinstance(value, int | float) and math.isfinite(value) else 0.0


def _fmt(value: float, step: float) -> str:
    """A tick label: as many decimals as the step needs, thousands separated."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step > 0 else 0
    if step > 0 and decimals == 0 and abs(step - round(step)) > 1e-9:
        decimals = 1
    return f"{value:,.{decimals}f}"


def nice_ticks(low: float, high: float, *, count: int = 5) -> list[float]:
    """About ``count`` evenly spaced round ticks (1, 2, 2.5 or 5 × 10^k apart) covering ``low``..``high``."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high - low <= 0:
        high = low + 1.0
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(i * step, 12) for i in range(first, last + 1)]


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: float = FONT, more: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" text-anchor="{anchor}"{more}>'
            f"{escape(text)}</text>")  # fmt: skip


class _Chart:
    """A plot area with a title, a legend row(s) above it, a left value axis and category labels below."""

    def __init__(
        self, categories: Sequence[str], legend: Sequence[tuple[str, str]], *, title: str, right: float = _RIGHT
    ) -> None:
        self.categories = [str(c) for c in categories]
        self.title = title
        self.parts: list[str] = []
        self.x0, self.x1 = _LEFT, WIDTH - right
        per_row = max(1, min(4, len(legend)))
        rows = math.ceil(len(legend) / per_row) if legend else 0
        self.legend = list(legend)
        self.per_row = per_row
        self.y0 = _TOP + rows * (FONT + 7) + 6
        slot = (self.x1 - self.x0) / max(1, len(self.categories))
        longest = max((len(c) for c in self.categories), default=0) * CHAR
        self.rotate = longest > slot * 0.9
        self.every = 1
        if self.rotate:  # a label per 1.6 font heights at most (45°), else every n-th
            self.every = max(1, math.ceil(FONT * 1.6 / slot))
        below = (longest * 0.72 + FONT * 1.5) if self.rotate else FONT * 2.2
        self.plot_height = 230.0
        self.y1 = self.y0 + self.plot_height
        self.height = self.y1 + below + 6

    def slot(self) -> float:
        return (self.x1 - self.x0) / max(1, len(self.categories))

    def axis(self, ticks: list[float], ylabel: str, *, side: str = "left") -> None:
        lo, hi = ticks[0], ticks[-1]
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
        x = self.x0 if side == "left" else self.x1
        for t in ticks:
            y = self.y(t, lo, hi)
            if side == "left":
                self.parts.append(f'<line x1="{self.x0:.1f}" y1="{y:.1f}" x2="{self.x1:.1f}" y2="{y:.1f}" {_GRID}/>')
            self.parts.append(_text(x - 5 if side == "left" else x + 5, y + FONT * 0.35, _fmt(t, step),
                                    anchor="end" if side == "left" else "start"))  # fmt: skip
        self.parts.append(f'<line x1="{x:.1f}" y1="{self.y0:.1f}" x2="{x:.1f}" y2="{self.y1:.1f}" {_AXIS}/>')
        mid = (self.y0 + self.y1) / 2
        lx = 13.0 if side == "left" else WIDTH - 6.0
        self.parts.append(_text(lx, mid, ylabel, anchor="middle", more=f' transform="rotate(-90 {lx:.1f} {mid:.1f})"'))

    def y(self, value: float, lo: float, hi: float) -> float:
        return self.y1 - (value - lo) / (hi - lo) * self.plot_height

    def labels(self) -> None:
        slot = self.slot()
        self.parts.append(
            f'<line x1="{self.x0:.1f}" y1="{self.y1:.1f}" x2="{self.x1:.1f}" y2="{self.y1:.1f}" {_AXIS}/>'
        )
        for i, name in enumerate(self.categories):
            if i % self.every:
                continue
            cx = self.x0 + (i + 0.5) * slot
            if self.rotate:
                y = self.y1 + FONT + 2
                self.parts.append(_text(cx, y, name, anchor="end", size=FONT - 1,
                                        more=f' transform="rotate(-45 {cx:.1f} {y:.1f})"'))  # fmt: skip
            else:
                self.parts.append(_text(cx, self.y1 + FONT + 4, name, anchor="middle"))

    def bar(self, x: float, width: float, top: float, bottom: float, colour: str, tip: str) -> None:
        y, h = min(top, bottom), abs(bottom - top)
        self.parts.append(f'<rect x="{x:.2f}" y="{y:.2f}" width="{width:.2f}" height="{h:.2f}" fill="{colour}">'
                          f"<title>{escape(tip)}</title></rect>")  # fmt: skip

    def svg(self) -> str:
        head = [_text(self.x0 - _LEFT + 4, _TOP - 12, self.title, size=FONT + 2, more=' font-weight="600"')]
        entries = self.legend
        widest = max((len(name) for name, _ in entries), default=0) * (CHAR - 0.6) + 36
        column = min((self.x1 - self.x0) / self.per_row, widest)
        for k, (name, mark) in enumerate(entries):
            x = self.x0 + (k % self.per_row) * column
            y = _TOP + (k // self.per_row) * (FONT + 7)
            head.append(f'<g transform="translate({x:.1f} {y - 9:.1f})">{mark}</g>')
            head.append(_text(x + 15, y, name, size=FONT - 1))
        body = "".join(head + self.parts)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} {self.height:.0f}" role="img" '
                f'font-family="system-ui, -apple-system, \'Segoe UI\', Roboto, \'DejaVu Sans\', sans-serif" '
                f'fill="#1a202c"><title>{escape(self.title)}</title>{body}</svg>')  # fmt: skip


def _swatches(names: Sequence[str]) -> list[tuple[str, str]]:
    """Legend entries: a name and its colour's square."""
    return [
        (name, f'<rect width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>') for i, name in enumerate(names)
    ]


def _empty(chart: _Chart) -> str:
    chart.parts.append(_text((chart.x0 + chart.x1) / 2, (chart.y0 + chart.y1) / 2, "no data", anchor="middle"))
    chart.labels()
    return chart.svg()


def stacked_bars(categories: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str, ylabel: str) -> str:
    """One bar per category (e.g. day), stacked by series (e.g. team); negative values stack downwards."""
    names = list(series)
    chart = _Chart(categories, _swatches([_label(n) for n in names]), title=title)
    if not chart.categories:
        return _empty(chart)
    values = {n: [_number(v) for v in series[n]] for n in names}
    ups = [sum(max(0.0, values[n][i]) for n in names) for i in range(len(chart.categories))]
    downs = [sum(min(0.0, values[n][i]) for n in names) for i in range(len(chart.categories))]
    ticks = nice_ticks(min(downs, default=0.0), max(ups, default=0.0))
    lo, hi = ticks[0], ticks[-1]
    chart.axis(ticks, ylabel)
    slot = chart.slot()
    width = slot * 0.8
    for i, category in enumerate(chart.categories):
        up = down = 0.0
        x = chart.x0 + i * slot + (slot - width) / 2
        for k, name in enumerate(names):
            v = values[name][i]
            if v == 0:
                continue
            base = up if v > 0 else down
            chart.bar(x, width, chart.y(base + v, lo, hi), chart.y(base, lo, hi), PALETTE[k % len(PALETTE)],
                      f"{category} · {_label(name)}: {v:,.4g} {ylabel}")  # fmt: skip
            if v > 0:
                up += v
            else:
                down += v
    chart.labels()
    return chart.svg()


def grouped_bars(categories: Sequence[str], series: Mapping[str, Sequence[float]], *, title: str, ylabel: str) -> str:
    """Bars side by side per category (e.g. allocatable / requested / used per node)."""
    names = list(series)
    chart = _Chart(categories, _swatches(names), title=title)
    if not chart.categories:
        return _empty(chart)
    values = {n: [_number(v) for v in series[n]] for n in names}
    every = [v for n in names for v in values[n]]
    ticks = nice_ticks(min(every, default=0.0), max(every, default=0.0))
    lo, hi = ticks[0], ticks[-1]
    chart.axis(ticks, ylabel)
    slot = chart.slot()
    width = slot * 0.8 / max(1, len(names))
    for i, category in enumerate(chart.categories):
        for k, name in enumerate(names):
            v = values[name][i]
            x = chart.x0 + i * slot + slot * 0.1 + k * width
            chart.bar(x, width, chart.y(v, lo, hi), chart.y(0.0, lo, hi), PALETTE[k % len(PALETTE)],
                      f"{category} · {name}: {v:,.4g} {ylabel}")  # fmt: skip
    chart.labels()
    return chart.svg()


def cost_vs_value(
    tiers: Sequence[str], cost: Sequence[float], efficiency: Sequence[float | None], *, currency: str
) -> str:
    """Spend per tier (bars, left axis) next to its efficiency (dots, right axis 0-100 %): what each tier costs
    for what it uses."""
    dot = f'<circle cx="5" cy="5" r="4" fill="{PALETTE[1]}"/>'
    legend = [*_swatches([f"monthly spend ({currency})"]), ("efficiency (%)", dot)]
    chart = _Chart(tiers, legend, title="Cost vs value: spend per criticality tier and how much of it is used",
                   right=48.0)  # fmt: skip
    if not chart.categories:
        return _empty(chart)
    money = [_number(v) for v in cost]
    ticks = nice_ticks(min(money), max(money))
    lo, hi = ticks[0], ticks[-1]
    chart.axis(ticks, f"{currency} / month")
    chart.axis([0.0, 20.0, 40.0, 60.0, 80.0, 100.0], "efficiency %", side="right")
    slot = chart.slot()
    width = slot * 0.6
    for i, tier in enumerate(chart.categories):
        x = chart.x0 + i * slot + (slot - width) / 2
        chart.bar(x, width, chart.y(money[i], lo, hi), chart.y(0.0, lo, hi), PALETTE[0],
                  f"{tier}: {money[i]:,.2f} {currency} / month")  # fmt: skip
        e = efficiency[i]
        if e is not None and math.isfinite(e):
            cy = chart.y(min(100.0, max(0.0, e * 100)), 0.0, 100.0)
            chart.parts.append(f'<circle cx="{x + width / 2:.2f}" cy="{cy:.2f}" r="5" fill="{PALETTE[1]}">'
                               f"<title>{escape(tier)}: {e * 100:.1f} % efficient</title></circle>")  # fmt: skip
    chart.labels()
    return chart.svg()
