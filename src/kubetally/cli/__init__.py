"""The ``kubetally`` command line: thin commands over sources -> analyses -> outputs.

Each command lives in its own module and registers itself on :data:`app`.
Errors the user can act on (:class:`KubetallyError`) become one red line and exit 2.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated

import typer
from rich.console import Console

from kubetally.errors import KubetallyError

DEBUG_ENV = "KUBETALLY_DEBUG"

app = typer.Typer(
    name="kubetally",
    help="FinOps for Kubernetes: what each workload uses and costs, who owns it, what is wasted, what to change.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"kubetally {version('kubetally')}")
        except PackageNotFoundError:
            typer.echo("kubetally (version unknown: not installed as a package)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", help="Print the kubetally version and exit.", is_eager=True, callback=_version),
    ] = False,
) -> None:
    """FinOps for Kubernetes: what each workload uses and costs, who owns it, what is wasted, what to change."""


# Command modules, in the order `kubetally --help` lists them.
COMMAND_MODULES = (
    "demo",
    "simulate",
    "collect",
    "record",
    "showback",
    "nodes",
    "export",
    "rightsize",
    "backtest",
    "scale",
    "costdiff",
    "storage",
    "retention",
    "waste",
    "janitor",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"kubetally.cli.{_name}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KubetallyError as exc:
        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False)
        sys.exit(2)
    except KeyboardInterrupt:
        Console(stderr=True).print("[yellow]interrupted[/]")
        sys.exit(130)
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        Console(stderr=True).print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc} — this is a kubetally bug; "
            f"please report it (set {DEBUG_ENV}=1 for the traceback)",
            highlight=False,
        )
        sys.exit(3)
