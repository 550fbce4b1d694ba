"""The output registry: format name -> renderer, for every use case's result.

``-o/--output`` always names a format: ``table``, ``json``, ``yaml``, ``csv``, ``markdown``,
``patch``, ``vpa`` or ``manifests``. A renderer is registered for a result type (or, for the
machine formats json/yaml/csv, once for every result through :meth:`Result.data`). A renderer
returns text (printed verbatim, for pipes and files) or rich renderables (tables for people).
Notes and warnings are data on the result; the caller decides where they go.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import polars as pl
from rich.console import RenderableType

from kubetally.errors import ConfigError
from kubetally.outputs.formats import FORMATS, records, to_yaml_value

Rendered = str | Sequence[RenderableType]

FORMAT_HELP: dict[str, str] = {
    "table": "tables for people",
    "json": "JSON",
    "yaml": "YAML",
    "csv": "CSV",
    "markdown": "Markdown (for a pull request comment)",
    "sarif": "SARIF 2.1.0 (code-scanning tools)",
    "patch": "kubectl patch commands",
    "vpa": "VPA objects in recommendation-only mode",
    "manifests": "Kubernetes YAML to apply",
}
"""Every format name, with what it prints (the ``--output`` help is built from this)."""


@dataclass(frozen=True, kw_only=True)
class Result:
    """Base of every use case's result: its frames, plus notes and warnings as data (never printed)."""

    notes: tuple[str, ...] = ()
    """Facts about the run the reader should know (shown with the table, on stderr otherwise)."""
    warnings: tuple[str, ...] = ()
    """Something is probably not what the user meant (always on stderr)."""
    messages: tuple[str, ...] = ()
    """What was done, one line each (rich markup), printed on stderr after the output (e.g. "wrote 3 files")."""
    exit_code: int = 0
    """Non-zero when the result is a failed gate (e.g. cost-diff --fail-above)."""
    kind: ClassVar[str] = "result"

    def data(self) -> pl.DataFrame | dict[str, Any]:
        """What json/yaml (and csv, for a frame) print."""
        raise NotImplementedError(f"{type(self).__name__} has no machine-readable form")


Renderer = Callable[[Any], Rendered]
_RENDERERS: dict[tuple[type[Result], str], Renderer] = {}
T = TypeVar("T", bound=Result)


def register(fmt: str, result_type: type[T]) -> Callable[[Callable[[T], Rendered]], Callable[[T], Rendered]]:
    """Register ``func`` as the ``fmt`` renderer of ``result_type``."""
    if fmt not in FORMAT_HELP:
        raise ValueError(f"unknown format {fmt!r}")

    def add(func: Callable[[T], Rendered]) -> Callable[[T], Rendered]:
        _RENDERERS[(result_type, fmt)] = func
        return func

    return add


def _generic(result: Result, fmt: str) -> str:
    data = result.data()
    if isinstance(data, pl.DataFrame):
        return FORMATS[fmt](data)
    if fmt == "csv":
        raise ConfigError(f"-o csv: the {result.kind} result has several frames; use -o json or -o yaml")
    plain = {k: records(v) if isinstance(v, pl.DataFrame) else v for k, v in data.items()}
    return json.dumps(plain, indent=2) + "\n" if fmt == "json" else to_yaml_value(plain)


def render(result: Result, fmt: str) -> Rendered:
    """``result`` in format ``fmt``."""
    for cls in type(result).__mro__:
        func = _RENDERERS.get((cls, fmt))
        if func is not None:
            return func(result)
    if fmt in FORMATS:
        return _generic(result, fmt)
    raise ConfigError(f"-o {fmt}: not a format of {result.kind} (choose {', '.join(formats(type(result)))})")


def formats(result_type: type[Result]) -> list[str]:
    """The formats ``result_type`` can be rendered in: its own renderers, then json/yaml/csv."""
    own = [fmt for (cls, fmt) in _RENDERERS if issubclass(result_type, cls)]
    return [*dict.fromkeys([*own, *FORMATS])]
