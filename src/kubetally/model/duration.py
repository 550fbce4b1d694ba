"""The one duration parser: ``90s``, ``5m``, ``12h``, ``14d``, ``2w``, ``1.5d``, ``300`` (seconds).

Every option that takes a length of time (``--window``, ``--step``, ``--rate-window``) goes
through :func:`parse_duration`; pydantic fields use :data:`Seconds` so a request model accepts
either a number of seconds or the text a user types.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0, None: 1.0}


def parse_duration(text: str) -> timedelta:
    """``text`` as a length of time longer than zero; ValueError (naming the input) otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"invalid duration {text!r} (write a number and ms, s, m, h, d or w, e.g. 90s, 5m, 14d)")
    seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def whole_seconds(text: str) -> int:
    """``text`` as whole seconds >= 1 (what a Prometheus step or range needs)."""
    seconds = parse_duration(text).total_seconds()
    if seconds < 1 or seconds != int(seconds):
        raise ValueError(f"duration {text!r} must be a whole number of seconds >= 1")
    return int(seconds)


def format_duration(seconds: float) -> str:
    """The shortest exact spelling: 1209600 -> '14d', 90 -> '90s', 5400 -> '90m'."""
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _seconds(value: Any) -> Any:
    return whole_seconds(value) if isinstance(value, str) else value


def _span(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


Seconds = Annotated[int, BeforeValidator(_seconds)]
"""Whole seconds; a request accepts ``"14d"`` as well as ``1209600``."""

Span = Annotated[timedelta, BeforeValidator(_span)]
"""A length of time; a request accepts ``"36h"``, ``"1.5d"``."""
