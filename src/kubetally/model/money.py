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


def table_cents(amounts: np.ndarray, row_cents: np.ndarray, column_cents: np.ndarray) -> np.ndarray:
    """Integer cents for a table of ``amounts`` (rows x columns, ≥ 0) whose rows sum to ``row_cents`` and
    whose columns sum to ``column_cents`` (both summing to the same whole).

    Controlled rounding: every cell is floored, then the cents still missing go one at a time to the
    cell with the largest remainder whose row and column both still miss cents; so each row keeps its
    own rounded total (within a cent of its amount) and each column its own.
    """
    values = np.asarray(amounts, dtype=np.float64)
    out = np.floor(values * 100.0 + 1e-9).astype(np.int64)
    if values.size == 0:
        return out
    row_missing = np.asarray(row_cents, dtype=np.int64) - out.sum(axis=1)
    col_missing = np.asarray(column_cents, dtype=np.int64) - out.sum(axis=0)
    if row_missing.sum() != col_missing.sum() or (row_missing < 0).any() or (col_missing < 0).any():
        raise ValueError("row and column totals disagree with the amounts")
    remainders = np.round(values * 100.0 - out, 6)  # 53.4999999 and 53.5 are the same half cent
    order = np.lexsort((-values.ravel(), -remainders.ravel()))
    cols = values.shape[1]
    for flat in order:  # cells in order of remainder: one cent each where both row and column miss one
        if not row_missing.any():
            break
        i, j = divmod(int(flat), cols)
        if row_missing[i] > 0 and col_missing[j] > 0 and remainders[i, j] > 0:
            out[i, j] += 1
            row_missing[i] -= 1
            col_missing[j] -= 1
    while row_missing.any():  # what the remainders could not place (rare): any cell of a short row and column
        i, j = int(np.flatnonzero(row_missing)[0]), int(np.flatnonzero(col_missing)[0])
        step = min(row_missing[i], col_missing[j])
        out[i, j] += step
        row_missing[i] -= step
        col_missing[j] -= step
    return out


def cents_to_decimal(cents: pl.Expr) -> pl.Expr:
    """Integer cents -> an exact decimal amount with 2 places."""
    return (cents.cast(pl.Decimal(20, 0)) / 100).cast(MONEY)


def decimal_amount(value: float) -> Decimal:
    """One float amount as an exact cent decimal."""
    return (Decimal(to_cents(value)) / 100).quantize(CENT)
