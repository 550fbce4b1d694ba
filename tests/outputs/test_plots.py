"""The hand-written SVG charts: round axis ticks, bar heights proportional to the values (hand-worked), text
escaped, valid XML, the same bytes for the same data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from kubetally.outputs import plots

NS = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0, 4.0, [0, 1, 2, 3, 4]),
        (0, 7.3, [0, 2, 4, 6, 8]),
        (0, 0.53, [0, 0.2, 0.4, 0.6]),
        (0, 12.0, [0, 2.5, 5, 7.5, 10, 12.5]),
        (-3, 9, [-5, -2.5, 0, 2.5, 5, 7.5, 10]),  # 12 / 5 = 2.4 -> a step of 2.5
        (0, 0, [0, 0.2, 0.4, 0.6, 0.8, 1.0]),
        (5, 9, [0, 2, 4, 6, 8, 10]),  # bars start at zero
    ],
)
def test_nice_ticks(low: float, high: float, ticks: list[float]) -> None:
    assert plots.nice_ticks(low, high) == pytest.approx(ticks)


def _bars(svg: str) -> list[tuple[float, float, float, str]]:
    """(x, y, height, tooltip) of every bar."""
    root = ET.fromstring(svg)
    return [
        (float(r.get("x", 0)), float(r.get("y", 0)), float(r.get("height", 0)), r.findtext(f"{NS}title", ""))
        for r in root.iter(f"{NS}rect")
        if r.find(f"{NS}title") is not None
    ]


def test_stacked_bars_heights_are_proportional_and_stack() -> None:
    svg = plots.stacked_bars(["mon", "tue"], {"a": [1.0, 2.0], "__idle__": [3.0, 0.0]}, title="t", ylabel="USD")
    bars = _bars(svg)
    # tue's idle is 0: no bar drawn; the axis goes 0..4 (ticks 0,1,2,3,4) over the plot height
    assert [tip for *_, tip in bars] == ["mon · a: 1 USD", "mon · (idle): 3 USD", "tue · a: 2 USD"]
    unit = bars[0][2] / 1.0
    assert bars[1][2] == pytest.approx(3 * unit) and bars[2][2] == pytest.approx(2 * unit)
    assert 4 * unit == pytest.approx(230.0)  # the top tick (4) is the top of the plot area
    # idle sits on top of a: its bottom is a's top
    assert bars[1][1] + bars[1][2] == pytest.approx(bars[0][1])
    texts = [t.text for t in ET.fromstring(svg).iter(f"{NS}text")]
    assert {"0", "1", "2", "3", "4", "(idle)", "a", "mon", "tue", "USD", "t"} <= set(texts)


def test_grouped_bars_side_by_side_from_zero() -> None:
    svg = plots.grouped_bars(["n1"], {"allocatable": [4.0], "used": [1.0]}, title="CPU", ylabel="cores")
    (x1, y1, h1, _), (x2, y2, h2, _) = _bars(svg)
    assert x2 > x1 and y1 + h1 == pytest.approx(y2 + h2)  # one baseline
    assert h1 == pytest.approx(4 * h2)


def test_cost_vs_value_dots_on_a_percent_axis() -> None:
    svg = plots.cost_vs_value(["critical", "dev"], [10.0, 2.0], [0.5, None], currency="EUR")
    root = ET.fromstring(svg)
    dots = list(root.iter(f"{NS}circle"))
    assert len(dots) == 2  # one in the legend, one for critical (dev's efficiency is unknown)
    assert dots[1].findtext(f"{NS}title") == "critical: 50.0 % efficient"
    assert [tip for *_, tip in _bars(svg)] == ["critical: 10.00 EUR / month", "dev: 2.00 EUR / month"]


def test_text_is_escaped_and_output_deterministic() -> None:
    series = {"<b>&team": [1.0], "nan": [float("nan")]}
    one = plots.stacked_bars(['day "1"'], series, title="a < b", ylabel="USD")
    assert one == plots.stacked_bars(['day "1"'], series, title="a < b", ylabel="USD")
    root = ET.fromstring(one)  # valid XML despite the names
    assert "<b>&team" in [t.text for t in root.iter(f"{NS}text")]
    assert len(_bars(one)) == 1  # NaN draws nothing


def test_no_categories_says_no_data() -> None:
    svg = plots.stacked_bars([], {}, title="Spend", ylabel="USD")
    assert "no data" in [t.text for t in ET.fromstring(svg).iter(f"{NS}text")]


def test_many_days_rotate_and_thin_their_labels() -> None:
    days = [f"2026-10-{d:02d}" for d in range(1, 31)] + [f"2026-11-{d:02d}" for d in range(1, 31)]
    svg = plots.stacked_bars(days, {"a": [1.0] * len(days)}, title="t", ylabel="USD")
    shown = [t for t in ET.fromstring(svg).iter(f"{NS}text") if (t.text or "").startswith("2026-")]
    assert 10 <= len(shown) < len(days) and all("rotate(-45" in (t.get("transform") or "") for t in shown)
    assert len(_bars(svg)) == 60
