"""The command line, generated from the request models of ``kubetally.app``.

Every field of a request becomes one option (or argument): its flag from the field name (or
``cli(flag=...)``), its help from the description, bounds and default from the model. Values
the user did not give are left out, so defaults live only in the models. A command module is
a :class:`Command` naming the request, the app function and (optionally) a group. Running it:
build the request (a bad value is one line naming the flag), call the app function with a
spinner for progress, then print notes/warnings and render the result through the output
registry (``kubetally.outputs.registry``) in the ``--output`` format.
"""

from __future__ import annotations

import os
import sys
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import click
from click.core import ParameterSource
from pydantic import BaseModel, BeforeValidator
from pydantic.fields import FieldInfo
from rich.console import Console
from rich.markup import escape

from kubetally.app.base import Request, build, cli_meta
from kubetally.errors import KubetallyError
from kubetally.outputs.registry import FORMAT_HELP, Result, render
from kubetally.outputs.terminal import console

DEBUG_ENV = "KUBETALLY_DEBUG"
HELP_WIDTH = 80


@dataclass(frozen=True)
class Command:
    """One ``kubetally`` command: ``run(request, progress)`` on a validated ``request``."""

    name: str
    request: type[Request]
    run: Callable[..., Result]
    """``run(request, progress=...)``: the app function."""
    group: str | None = None
    epilog: str | None = None
    spinner: str = "working..."


# ---------------------------------------------------------------- fields -> click parameters


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type inside ``X | None``, whether None is allowed)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), True
    return annotation, False


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _click_type(annotation: Any) -> Any:
    """The click type of a field: only the shape (a choice is checked by the model, so its error names the flag)."""
    if annotation is bool:
        return click.BOOL
    if annotation is int:
        return click.INT
    if annotation is float:
        return click.FLOAT
    if annotation is Path:
        return click.Path(path_type=Path)
    return click.STRING


def _metavar(name: str, annotation: Any, meta: dict[str, Any]) -> str | None:
    if meta.get("metavar"):
        return str(meta["metavar"])
    if name == "output":
        return "FORMAT"  # the formats are listed in the help
    if typing.get_origin(annotation) is Literal:
        return "[" + "|".join(str(a) for a in typing.get_args(annotation)) + "]"
    return None


def _bounds(info: FieldInfo) -> str:
    parts = []
    for m in info.metadata:
        for attr, op in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if hasattr(m, attr):
                parts.append(f"{op}{getattr(m, attr)}")
    return " ".join(parts)


def _shown_default(info: FieldInfo, meta: dict[str, Any]) -> str | None:
    if "show_default" in meta:
        return str(meta["show_default"])
    if info.is_required():
        return None
    default = info.get_default(call_default_factory=True)
    if default is None or default is False or default in ((), ""):
        return None
    if isinstance(default, tuple):
        return ",".join(str(d) for d in default)
    if isinstance(default, timedelta):
        from kubetally.model.duration import format_duration

        return format_duration(default.total_seconds())
    return str(default)


def _help(name: str, info: FieldInfo, meta: dict[str, Any], annotation: Any) -> str:
    text = (info.description or "").strip()
    if not text and name == "output" and typing.get_origin(annotation) is Literal:
        text = output_help(tuple(str(a) for a in typing.get_args(annotation)))
    extras = []
    default = _shown_default(info, meta)
    if default is not None and annotation is not bool:
        extras.append(f"default: {default}")
    bounds = _bounds(info)
    if bounds:
        extras.append(bounds)
    if meta.get("env"):
        extras.append(f"env: {meta['env']}")
    return f"{text} [{'; '.join(extras)}]" if extras else text


@dataclass(frozen=True)
class _Param:
    param: click.Parameter
    path: tuple[str, ...]
    deprecated: str | None = None


def _params(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> Iterator[_Param]:
    for name, info in model.model_fields.items():
        meta = cli_meta(info)
        if meta.get("skip"):
            continue
        annotation, optional = _unwrap(info.annotation)
        if _is_model(annotation):
            yield from _params(annotation, (*prefix, name))
            continue
        dest = "__".join((*prefix, name))
        multiple = typing.get_origin(annotation) in (tuple, list)
        inner = typing.get_args(annotation)[0] if multiple else annotation
        help_text = _help(name, info, meta, inner)
        if any(isinstance(m, BeforeValidator) for m in info.metadata):
            inner = str  # the model parses the text (e.g. a duration "14d" into seconds)
        if meta.get("argument"):
            yield _Param(click.Argument([dest], type=_click_type(inner), metavar=meta.get("metavar")), (*prefix, name))
            continue
        flag = meta.get("flag") or name.replace("_", "-")
        flag = flag if flag.startswith("-") else f"--{flag}"
        decls = [flag, *([meta["short"]] if meta.get("short") else []), dest]
        common: dict[str, Any] = {"help": help_text, "hidden": bool(meta.get("hidden")), "envvar": meta.get("env")}
        if inner is bool and not multiple:
            default = info.get_default(call_default_factory=True)
            if default is True:
                decls[0] = f"{flag}/--no-{flag.removeprefix('--')}"
            option = click.Option(decls, is_flag=True, default=bool(default), **common)
        else:
            required = info.is_required() and not optional
            if required and meta.get("deprecated"):
                # an old spelling may give it: the model says when neither is given
                required = False
                common["help"] = f"{help_text} [required]"
            option = click.Option(
                decls,
                type=_click_type(inner),
                multiple=multiple,
                required=required,
                metavar=_metavar(name, inner, meta),
                **common,
            )
        yield _Param(option, (*prefix, name))
        if meta.get("deprecated"):
            spellings = meta["deprecated"]
            spellings = [spellings] if isinstance(spellings, str) else list(spellings)
            old = click.Option([*spellings, f"{dest}__old"], type=_click_type(inner), hidden=True, help="deprecated")
            said = "/".join(spellings)
            yield _Param(old, (*prefix, name), deprecated=f"{said} is deprecated here: use {flag}")


def _values(ctx: click.Context, params: list[_Param], given: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Nested field values of the options the user gave (defaults stay in the models)."""
    values: dict[str, Any] = {}
    warnings = []
    for p in params:
        name = p.param.name
        assert name is not None
        source = ctx.get_parameter_source(name)
        if source in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
            continue
        value = given[name]
        if p.deprecated:
            warnings.append(p.deprecated)
        target = values
        for part in p.path[:-1]:
            target = target.setdefault(part, {})
        target[p.path[-1]] = value
    return values, warnings


# ---------------------------------------------------------------- running a command


def _stderr() -> Console:
    return console(stderr=True)


def show(result: Result, fmt: str) -> None:
    """Print ``result`` in ``fmt``: notes with the table (stderr otherwise), warnings and messages on stderr."""
    rendered = render(result, fmt)
    err = _stderr()
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if isinstance(rendered, str):
        for note in result.notes:
            err.print(f"[yellow]note:[/] {note}", highlight=False)
        sys.stdout.write(rendered)
        sys.stdout.flush()
    else:
        out = console()
        for note in result.notes:
            out.print(f"[yellow]note:[/] {note}", highlight=False)
        for item in rendered:
            out.print(item)
    for message in result.messages:
        err.print(message, highlight=False)


def execute(command: Command, request: Request) -> int:
    """Run ``command`` on ``request`` with a spinner, render it; the exit code."""
    with _stderr().status(command.spinner) as status:
        result = command.run(request, progress=status.update)
    show(result, str(getattr(request, "output", "table")))
    return result.exit_code


def to_click(command: Command) -> click.Command:
    params = list(_params(command.request))

    def callback(**given: Any) -> None:
        ctx = click.get_current_context()
        values, warnings = _values(ctx, params, given)
        for warning in warnings:
            _stderr().print(f"[yellow]warning:[/] {warning}", highlight=False)
        request = build(command.request, **values)
        code = execute(command, request)
        if code:
            ctx.exit(code)

    doc = (command.request.__doc__ or "").strip()
    return click.Command(
        command.name,
        params=[p.param for p in params],
        callback=callback,
        help=doc,
        epilog=command.epilog,
        context_settings={"max_content_width": HELP_WIDTH, "help_option_names": ["-h", "--help"]},
    )


def output_help(formats: tuple[str, ...]) -> str:
    return "Output format: " + ", ".join(f"{f} ({FORMAT_HELP[f]})" for f in formats) + "."


class _Ordered(click.Group):
    """Commands listed in the order they were added (not alphabetically)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def _version(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        click.echo(f"kubetally {version('kubetally')}")
    except PackageNotFoundError:
        click.echo("kubetally (version unknown: not installed as a package)")
    ctx.exit()


def group(name: str, help_text: str, commands: Sequence[Command], groups: dict[str, str] | None = None) -> click.Group:
    """The ``kubetally`` command group (and its sub-groups, e.g. ``export``) from ``commands``."""
    root = _Ordered(
        name,
        help=help_text,
        no_args_is_help=True,
        context_settings={"max_content_width": HELP_WIDTH, "help_option_names": ["-h", "--help"]},
        params=[
            click.Option(
                ["--version"],
                is_flag=True,
                expose_value=False,
                is_eager=True,
                callback=_version,
                help="Print the kubetally version and exit.",
            )
        ],
    )
    for command in commands:
        if command.group is None:
            root.add_command(to_click(command))
            continue
        sub = root.commands.get(command.group)
        if not isinstance(sub, click.Group):
            sub = _Ordered(command.group, no_args_is_help=True, help=(groups or {}).get(command.group))
            root.add_command(sub)
        sub.add_command(to_click(command))
    return root


def run_main(app: click.Group) -> None:
    """Console-script entry point: a :class:`KubetallyError` is one red line and exit 2."""
    try:
        app(standalone_mode=True, prog_name="kubetally")
    except KubetallyError as exc:
        # one line whatever the terminal width (paths can be long), and the message is text, not markup
        _stderr().print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        _stderr().print("[yellow]interrupted[/]")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        _stderr().print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} — this is a kubetally bug; "
            f"please report it (set {DEBUG_ENV}=1 for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(3)
