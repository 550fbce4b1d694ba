from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubetally.model.quantity import (
    QuantityError,
    format_cpu,
    format_memory,
    parse_cpu,
    parse_memory,
    parse_quantity,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", Decimal(1)),
        ("0", Decimal(0)),
        ("250m", Decimal("0.25")),
        ("1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        ("100n", Decimal("1e-7")),
        ("100u", Decimal("1e-4")),
        ("2k", Decimal(2000)),
        ("1M", Decimal(10**6)),
        ("1G", Decimal(10**9)),
        ("1T", Decimal(10**12)),
        ("1P", Decimal(10**15)),
        ("1E", Decimal(10**18)),
        ("1Ki", Decimal(1024)),
        ("128Mi", Decimal(128 * 2**20)),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("1Ti", Decimal(2**40)),
        ("1Pi", Decimal(2**50)),
        ("1Ei", Decimal(2**60)),
        ("1e3", Decimal(1000)),
        ("1E3", Decimal(1000)),
        ("12e-3", Decimal("0.012")),
        ("+5", Decimal(5)),
        ("-1", Decimal(-1)),
        (" 64Mi ", Decimal(64 * 2**20)),
        (2, Decimal(2)),
        (0.1, Decimal("0.1")),
    ],
)
def test_parse_quantity(text: str, expected: Decimal) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("bad", ["", "m", "1mi", "1KB", "1 Gi", "abc", "1.2.3", "Gi1", "1e", "--1", True])
def test_parse_rejects(bad: str) -> None:
    with pytest.raises(QuantityError):
        parse_quantity(bad)


def test_units_of_cpu_and_memory() -> None:
    assert parse_cpu("100m") == 0.1
    assert parse_memory("1.5Ki") == 1536
    assert parse_memory("1m") == 1  # a thousandth of a byte rounds up to one byte, like Kubernetes


@pytest.mark.parametrize(
    ("cores", "text"),
    [(2, "2"), (0.25, "250m"), (Decimal("1.5"), "1500m"), (0.0005, "500000n"), (0, "0")],
)
def test_format_cpu(cores: float, text: str) -> None:
    assert format_cpu(cores) == text


@pytest.mark.parametrize(
    ("num_bytes", "text"),
    [(2**30, "1Gi"), (3 * 2**29, "1536Mi"), (1000, "1000"), (2048, "2Ki"), (0, "0")],
)
def test_format_memory(num_bytes: int, text: str) -> None:
    assert format_memory(num_bytes) == text


def test_format_memory_rounds_up_to_mebibytes() -> None:
    assert format_memory(100 * 2**20 + 1, unit="Mi") == "101Mi"


@given(st.integers(min_value=0, max_value=2**62))
def test_memory_round_trip(num_bytes: int) -> None:
    assert parse_memory(format_memory(num_bytes)) == num_bytes


@given(st.integers(min_value=0, max_value=10**12))
def test_cpu_round_trip_nanocores(nanocores: int) -> None:
    cores = Decimal(nanocores).scaleb(-9)
    assert parse_quantity(format_cpu(cores)) == cores


@given(
    st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False, allow_infinity=False),
    st.sampled_from(["", "m", "k", "M", "G", "Ki", "Mi", "Gi"]),
)
def test_parse_any_suffix_then_format_is_stable(number: Decimal, suffix: str) -> None:
    value = parse_quantity(f"{number}{suffix}")
    assert parse_quantity(format_memory(value)) == value.to_integral_value(rounding="ROUND_CEILING")
