"""Machine-readable output formats, as a registry: format name -> renderer.

Every renderer takes a frame and returns text. Datetimes become ISO 8601 UTC,
nulls stay null (JSON/YAML) or empty (CSV) — never NaN.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from ruamel.yaml import YAML

from kubetally.errors import KubetallyError

Renderer = Callable[[pl.DataFrame], str]


def _plain(value: Any) -> Any:
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as plain Python values (the JSON/YAML shape)."""
    return [{k: _plain(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def to_json(frame: pl.DataFrame) -> str:
    return json.dumps(records(frame), indent=2) + "\n"


def to_csv(frame: pl.DataFrame) -> str:
    clean = frame.with_columns(pl.selectors.float().fill_nan(None))
    return clean.write_csv(datetime_format="%Y-%m-%dT%H:%M:%SZ")


def to_yaml_value(value: Any) -> str:
    """Plain data (dicts, lists, scalars) as block YAML."""
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(_plain(value), buffer)
    return buffer.getvalue()


def to_yaml(frame: pl.DataFrame) -> str:
    return to_yaml_value(records(frame))


FORMATS: dict[str, Renderer] = {"json": to_json, "csv": to_csv, "yaml": to_yaml}


def render(frame: pl.DataFrame, fmt: str) -> str:
    """``frame`` in format ``fmt`` (json, csv or yaml)."""
    try:
        return FORMATS[fmt](frame)
    except KeyError:
        raise KubetallyError(f"unknown output format {fmt!r}; choose table, {', '.join(FORMATS)}") from None
