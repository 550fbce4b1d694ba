"""Kubernetes resource quantities: the one parser and formatter for CPU and memory.

Follows ``k8s.io/apimachinery/pkg/api/resource``: a signed decimal number, an
optional exponent (``e3``/``E3``) or one suffix — decimal SI ``n u m k M G T P E``
or binary ``Ki Mi Gi Ti Pi Ei``. Values are exact (``Decimal``) so ``0.1`` cores
is ``100m``, not ``0.1000000000000000055``.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Literal

from kubetally.errors import KubetallyError


class QuantityError(KubetallyError, ValueError):
    """A string is not a Kubernetes quantity."""


BINARY_SUFFIXES: dict[str, int] = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL_SUFFIXES: dict[str, Decimal] = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}

_QUANTITY = re.compile(
    r"""^\s*(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))
        (?:(?P<exp>[eE][+-]?\d+)|(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?\s*$""",
    re.VERBOSE,
)


def parse_quantity(text: str | int | float) -> Decimal:
    """The exact value of a quantity: ``"250m"`` -> 0.25, ``"1Gi"`` -> 1073741824."""
    if isinstance(text, bool):
        raise QuantityError(f"not a quantity: {text!r}")
    if isinstance(text, int):
        return Decimal(text)
    if isinstance(text, float):
        if not math.isfinite(text):
            raise QuantityError(f"not a Kubernetes quantity: {text!r}")
        return Decimal(repr(text))
    match = _QUANTITY.match(text)
    if match is None:
        raise QuantityError(f"not a Kubernetes quantity: {text!r}")
    try:
        number = Decimal(match["number"])
    except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
        raise QuantityError(f"not a Kubernetes quantity: {text!r}") from None
    if match["exp"]:
        return number.scaleb(int(match["exp"][1:]))
    suffix = match["suffix"] or ""
    if suffix in BINARY_SUFFIXES:
        return number * BINARY_SUFFIXES[suffix]
    return number * DECIMAL_SUFFIXES[suffix]


def parse_cpu(text: str | int | float) -> float:
    """CPU quantity in cores (``"500m"`` -> 0.5)."""
    return float(parse_quantity(text))


def parse_memory(text: str | int | float) -> int:
    """Memory quantity in bytes, rounded up to a whole byte as Kubernetes does."""
    return int(parse_quantity(text).to_integral_value(rounding=ROUND_CEILING))


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_cpu(cores: float | Decimal, *, unit: Literal["auto", "m", "cores"] = "auto") -> str:
    """Cores as people write them: whole cores as ``"2"``, else millicores ``"250m"``.

    Sub-millicore values are written exactly (``"0.5m"`` is not valid Kubernetes, so
    they become nanocores ``"500000n"``).
    """
    value = Decimal(str(cores)) if not isinstance(cores, Decimal) else cores
    if unit == "cores" or (unit == "auto" and value == value.to_integral_value()):
        return _plain(value)
    milli = value * 1000
    if milli == milli.to_integral_value():
        return f"{_plain(milli)}m"
    nano = (value * 10**9).to_integral_value(rounding=ROUND_CEILING)
    return f"{nano}n"


def format_memory(num_bytes: int | float | Decimal, *, unit: Literal["auto", "Mi", "Gi"] = "auto") -> str:
    """Bytes as people write them: the largest binary suffix that divides exactly.

    ``unit="Mi"`` rounds up to whole mebibytes (what a recommendation should write).
    """
    value = Decimal(str(num_bytes)) if not isinstance(num_bytes, Decimal) else num_bytes
    value = value.to_integral_value(rounding=ROUND_CEILING)
    if unit in ("Mi", "Gi"):
        scale = BINARY_SUFFIXES[unit]
        whole = (value / scale).to_integral_value(rounding=ROUND_CEILING)
        return f"{whole}{unit}"
    for suffix in ("Ei", "Pi", "Ti", "Gi", "Mi", "Ki"):
        scale = BINARY_SUFFIXES[suffix]
        if value != 0 and value % scale == 0:
            return f"{value // scale}{suffix}"
    return str(value)
