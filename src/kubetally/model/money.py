"""Money: rounding a column of amounts to cents so that the parts add up to the rounded whole.

Allocation maths runs in float64; reports show exact decimals. Rounding every
row on its own can leave the sum a cent or two off the total, so a column is
rounded with the largest-remainder method: every amount is floored to a cent,
and the cents still missing to reach the rounded total go to the rows with the
largest remainders (ties: the larger amount first, then row order).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import polars as pl

CENT = Decimal("0.01")
MONEY = pl.Decimal(18, 2)
"""The dtype of every amount in a report."""


def to_cents(total: float) -> int:
    """``total`` rounded half-even to whole cents."""
    return int((Decimal(repr(float(total))) * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def largest_remainder_cents(amounts: np.ndarray | pl.Series, total: float | None = None) -> np.ndarray:
    """Integer cents for ``amounts`` whose sum equals ``to_cents(total)`` (default: the amounts' sum)."""
    values = np.asarray(amounts, dtype=np.float64)
    if values.size == 0:
        return np.zeros(0, dtype=np.int64)
    target = to_cents(float(values.sum()) if total is None else total)
    scaled = values * 100.0
    floors = np.floor(scaled + 1e-9).astype(np.int64)
    missing = int(target - floors.sum())
    if missing == 0:
        return floors
    remainders = scaled - floors
    if missing > 0:
        order = np.lexsort((-values, -remainders))  # largest remainder, then largest amount
        take = order[: min(missing, values.size)]
        floors[take] += 1
        missing -= take.size
        if missing:  # more cents than rows (only with a ``total`` far from the sum): spread evenly
            floors += missing // values.size
            floors[: missing % values.size] += 1
    else:
        # too many cents: take them back from the smallest remainders, never below zero
        while missing < 0 and (floors > 0).any():
            candidates = np.flatnonzero(floors > 0)
            order = candidates[np.lexsort((values[candidates], remainders[candidates]))]
            take = order[: min(-missing, order.size)]
            floors[take] -= 1
            missing += take.size
    return floors


def cents_to_decimal(cents: pl.Expr) -> pl.Expr:
    """Integer cents -> an exact decimal amount with 2 places."""
    return (cents.cast(pl.Decimal(20, 0)) / 100).cast(MONEY)


def decimal_amount(value: float) -> Decimal:
    """One float amount as an exact cent decimal."""
    return (Decimal(to_cents(value)) / 100).quantize(CENT)
