"""What every use case shares: the request base class, CLI metadata on fields, progress, errors.

A request is a frozen pydantic model: every option once, with its bounds, description and
default (taken from the settings model that owns it); cross-option rules are validators.
The CLI (``kubetally.cligen``) builds its flags and help from these fields; the web server
builds the same requests from query parameters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from kubetally.errors import ConfigError

Progress = Callable[[str], None]
"""Told what a long call is doing ("simulating...", "query 3/12"); the CLI shows it as a spinner."""


def no_progress(_: str) -> None:
    """The progress callback of callers that show none."""


class Request(BaseModel):
    """Base of every use-case request: frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")


R = TypeVar("R", bound=BaseModel)


def cli(*, flag: str | None = None, short: str | None = None, env: str | None = None, **extra: Any) -> dict[str, Any]:
    """``json_schema_extra`` for a field: its flag name (default ``--field-name``), short flag, env variable.

    Other keys: ``argument=True`` (positional), ``metavar``, ``hidden``, ``deprecated`` (an old flag
    spelling, or a tuple of them, that still works and warns), ``show_default`` (text shown instead of the default).
    """
    meta = {"flag": flag, "short": short, "env": env, **extra}
    return {"cli": {k: v for k, v in meta.items() if v is not None}}


def cli_meta(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    meta = extra.get("cli") if isinstance(extra, dict) else None
    return dict(meta) if isinstance(meta, dict) else {}


def flag_of(model: type[BaseModel], field: str) -> str:
    """The command-line spelling of ``field`` of ``model`` (``--field-name`` unless overridden)."""
    info = model.model_fields.get(field)
    if info is None:
        return field
    name = cli_meta(info).get("flag") or field.replace("_", "-")
    return str(name) if str(name).startswith("-") else f"--{name}"


def error_line(model: type[BaseModel], exc: ValidationError) -> str:
    """The first error of ``exc`` as one line naming the flag the user typed."""
    error = exc.errors()[0]
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    loc = [str(part) for part in error.get("loc", ())]
    if not loc:
        return message
    if len(loc) == 1 and loc[0] in model.model_fields and error.get("type") == "missing":
        return f"missing {flag_of(model, loc[0])} (required)"
    if loc[0] in model.model_fields and (len(loc) == 1 or (len(loc) == 2 and loc[1].isdigit())):
        # one value of a repeatable option is named alone (``--rule 'x'``), never the whole tuple
        value = error.get("input")
        shown = "" if isinstance(value, dict | list | tuple) or value is None else f" {value!r}"
        return f"{flag_of(model, loc[0])}{shown}: {message}"
    return f"{'.'.join(loc)}: {message}"


def build(model: type[R], **values: Any) -> R:
    """``model(**values)``, a validation error as one :class:`ConfigError` line."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(error_line(model, exc)) from None


_KEEP: Any = object()


def like(
    model: type[BaseModel], name: str, *, default: Any = _KEEP, description: str | None = None, **meta: Any
) -> Any:
    """A request field declared by the settings model that owns it: same description, bounds, default.

    ``default`` overrides the default (e.g. ``None``: "from the config file, else the model's default");
    ``description`` replaces the text; ``meta`` is CLI metadata (see :func:`cli`).
    """
    info = model.model_fields[name]
    bounds = {attr: getattr(m, attr) for m in info.metadata for attr in ("ge", "gt", "le", "lt") if hasattr(m, attr)}
    value = info.get_default(call_default_factory=True) if default is _KEEP else default
    return Field(
        value,
        description=description or info.description,
        json_schema_extra=cli(**meta) if meta else None,
        **bounds,
    )
