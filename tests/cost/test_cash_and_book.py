"""On owned hardware a saving is cash (power, overhead) or book value (amortisation of hardware already
bought); totals and tables use cash by default (docs/cost-model.md, "Cash and book value").

The hand-worked cluster with node-b priced as owned hardware, by hand:
    amortisation 73 / (10 months x 730 h) = 0.010 per hour  ->  7.30 a month (book)
    overhead     0.73 a month             = 0.001 per hour
    power        10 W idle = 10 W full at 1 per kWh = 0.010 per hour
    node-b       0.021 per hour = 15.33 a month, of which cash 8.03 and book 7.30
node-a keeps a flat 1.00 per hour (all cash).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from alloc_handmade import dataset
from click.testing import CliRunner

from kubetally.analysis.rightsizing.money import with_money
from kubetally.cli import app
from kubetally.dataset import save
from kubetally.model import columns as c
from kubetally.model.pricing import parse_price_text
from kubetally.model.unit_prices import unit_prices

PRICES = """currency: USD
hours_per_month: 730
cpu_share: 0.5
nodes:
  - match: {names: [node-a]}
    per_hour: 1.00
  - match: {names: [node-b]}
    owned: {purchase_price: 73, lifetime_months: 10, power_idle_watts: 10, power_max_watts: 10,
            electricity_per_kwh: 1, overhead_per_month: 0.73}
storage: {default_per_gib_month: 0}
"""


def test_freeing_an_owned_node_saves_its_power_and_overhead_in_cash(tmp_path: Path) -> None:
    save(dataset(), tmp_path / "ds")
    (tmp_path / "prices.yaml").write_text(PRICES)
    result = CliRunner().invoke(
        app, ["nodes", "-d", str(tmp_path / "ds"), "--prices", str(tmp_path / "prices.yaml")], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("│ current requests"))
    cells = [cell.strip() for cell in row.strip("│").split("│")]
    # everything fits on node-a: node-b is freed
    assert cells[4:] == ["node-b", "8.03 USD", "7.30 USD"]
    assert "book value: amortisation of owned hardware, already paid" in " ".join(result.output.split())


def test_rightsize_saving_is_cash_and_the_book_value_is_apart() -> None:
    ds = dataset()
    book = parse_price_text(PRICES)
    nodes = ds.nodes.filter(pl.col(c.NODE) == "node-b")  # 2 cores, 4 GiB
    recs = pl.DataFrame(
        {
            c.CLUSTER: ["c1"],
            c.CURRENT_CPU_REQUEST_CORES: [4.0],
            c.CURRENT_MEMORY_REQUEST_BYTES: [0],
            c.REPLICAS: [1],
            c.CPU_SAVING_CORES: [4.0],
            c.MEMORY_SAVING_BYTES: [0],
        }
    )
    # per core-hour: 0.021 x 0.5 / 2 = 0.00525, of which book 0.010 x 0.5 / 2 = 0.0025 and cash 0.00275
    row = with_money(recs, book=book, nodes=nodes, labels=ds.labels).row(0, named=True)
    assert row["monthly_cost_current"] == pytest.approx(15.33)  # 4 x 0.00525 x 730: what showback charges
    assert row["monthly_saving"] == pytest.approx(8.03)  # 4 x 0.00275 x 730
    assert row["monthly_book_saving"] == pytest.approx(7.30)  # 4 x 0.0025 x 730

    # scale prices its savings with the cash part of the same unit prices
    prices = unit_prices(book, nodes, ds.labels)
    assert prices.cpu_per_core_hour == pytest.approx(0.00525)
    assert prices.cash().cpu_per_core_hour == pytest.approx(0.00275)
    assert prices.cash().memory_per_gib_hour == pytest.approx(0.021 * 0.5 / 4 - 0.010 * 0.5 / 4)
