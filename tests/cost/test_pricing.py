"""Price files: schema, built-in profiles, units and node matching. Expected values computed by hand."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from alloc_handmade import GI, START, dataset

from kubetally.analysis.allocation import AllocationSettings, allocate
from kubetally.errors import ConfigError
from kubetally.model import schema
from kubetally.model.price_catalog import CLOUD_CATALOG, HARDWARE_PROFILES
from kubetally.model.pricing import default_price_book, parse_price_text, price_node


def _node(book_text: str, **kw: object) -> object:
    book = parse_price_text(book_text)
    args = {"node": "n1", "instance_type": "", "labels": {}, "cpu_cores": 4.0, "memory_bytes": 8 * GI} | kw
    return price_node(book, **args)  # type: ignore[arg-type]


def test_owned_hardware_amortization_and_overhead() -> None:
    price = _node(
        "hours_per_month: 730\nnodes:\n  - owned: {purchase_price: 730, lifetime_months: 10, power_idle_watts: 10,"
        " power_max_watts: 110, electricity_per_kwh: 1, overhead_per_month: 73}\n"
    )
    # 730 / (10 x 730 h) = 0.10/h, overhead 73 / 730 = 0.10/h
    assert price.fixed_per_hour == Decimal("0.2")
    assert price.power_idle_watts == 10 and price.power_max_watts == 110 and price.electricity_per_kwh == 1


def test_per_month_uses_the_files_hours_per_month() -> None:
    assert _node("hours_per_month: 720\nnodes:\n  - per_month: 36\n").fixed_per_hour == Decimal("0.05")


def test_unit_prices_set_the_cpu_share() -> None:
    price = _node("nodes:\n  - unit: {cpu_per_core_hour: 0.03, memory_per_gib_hour: 0.0075}\n")
    # 4 x 0.03 = 0.12 CPU + 8 x 0.0075 = 0.06 memory
    assert price.fixed_per_hour == Decimal("0.18")
    assert price.cpu_share == pytest.approx(0.12 / 0.18)


def test_cloud_catalog_and_match_order() -> None:
    text = (
        "nodes:\n  - match: {instance_type: m6i.large}\n    cloud: aws/m6i.large\n"
        "  - match: {selector: {hardware: rpi4-4gb}}\n    profile: rpi4-4gb\n  - per_hour: 9\n"
    )
    assert _node(text, instance_type="m6i.large").fixed_per_hour == CLOUD_CATALOG["aws/m6i.large"].price_per_hour
    pi = _node(text, labels={"hardware": "rpi4-4gb"})
    # 75 over 36 months of 730 h + 0.50 a month
    assert pi.fixed_per_hour == Decimal(75) / (36 * 730) + Decimal("0.5") / 730
    assert pi.rule == "profile rpi4-4gb"
    assert _node(text).fixed_per_hour == 9


def test_profiles_state_their_assumptions() -> None:
    assert {"rpi5-8gb", "rpi5-4gb", "rpi4-8gb", "rpi4-4gb"} <= set(HARDWARE_PROFILES)
    for profile in HARDWARE_PROFILES.values():
        assert "W idle" in profile.assumptions and "USD" in profile.assumptions


def test_default_book_prices_pis_by_hardware_label() -> None:
    book = default_price_book()
    price = price_node(
        book, node="x", instance_type="k3s", labels={"hardware": "rpi5-8gb"}, cpu_cores=4, memory_bytes=8 * GI
    )
    assert price.kind == "owned"
    other = price_node(book, node="y", instance_type="", labels={}, cpu_cores=2, memory_bytes=4 * GI)
    # OpenCost's defaults: 2 x 0.031611 + 4 x 0.004237
    assert other.fixed_per_hour == Decimal("0.031611") * 2 + Decimal("0.004237") * 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nodes:\n  - per_hour: 1\n    per_month: 2\n", "exactly one"),
        ("nodes:\n  - profile: rpi9\n", "unknown profile"),
        ("nodes:\n  - cloud: aws/nope\n", "unknown cloud"),
        ("currency: dollars\n", "currency"),
        ("nodes:\n  - per_hour: -1\n", "per_hour"),
        ("nodes:\n  - per_houre: 1\n", "per_houre"),
        ("- a\n- b\n", "mapping"),
    ],
)
def test_invalid_price_files_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_price_text(text)


def test_unmatched_node_is_an_error_not_zero() -> None:
    with pytest.raises(ConfigError, match="no price rule matches node 'n1'"):
        _node("nodes:\n  - match: {names: [other]}\n    per_hour: 1\n")


def test_power_follows_node_utilization() -> None:
    # node-a owned: 0.10/h fixed; 10 W idle, 110 W at full load, 1.00 per kWh; node_usage says 2 of 4 cores busy
    # -> 60 W -> 0.06/h; node-b flat 0; window 2 h: 2 x (0.10 + 0.06) = 0.32
    ds = dataset()
    node_usage = pl.DataFrame(
        [
            {
                "cluster": "c1",
                "node": "node-a",
                "timestamp": START + timedelta(hours=h),
                "cpu_usage_cores": 2.0,
                "memory_used_bytes": 0.0,
                "network_receive_bytes_per_second": 0.0,
                "network_transmit_bytes_per_second": 0.0,
            }
            for h in (0, 1)
        ]
    )
    ds = ds.with_frames(node_usage=node_usage, volumes=ds.table(schema.VOLUMES).clear())
    book = parse_price_text(
        "nodes:\n  - match: {names: [node-a]}\n    owned: {purchase_price: 730, lifetime_months: 10,"
        " power_idle_watts: 10, power_max_watts: 110, electricity_per_kwh: 1}\n  - per_hour: 0\n"
    )
    alloc = allocate(ds, prices=book, settings=AllocationSettings())
    assert alloc.total_cost == pytest.approx(0.32)


@pytest.mark.parametrize(
    ("amounts", "total", "expected"),
    [
        ([0.8675, 0.71, 1.1025, 0.01], None, [87, 71, 110, 1]),  # 268 floored cents + 1 for the largest remainder
        ([0.333, 0.333, 0.334], None, [33, 33, 34]),
        ([0.0, 0.054, 0.061], 0.10, [0, 5, 5]),  # one cent too many: taken back, never below 0
        ([1.0, 2.0], 3.0, [100, 200]),
    ],
)
def test_largest_remainder_cents(amounts: list[float], total: float | None, expected: list[int]) -> None:
    from kubetally.model.money import largest_remainder_cents

    assert largest_remainder_cents(np.array(amounts), total).tolist() == expected
