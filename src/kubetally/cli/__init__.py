"""The ``kubetally`` command line: one module per command, each a :class:`kubetally.cligen.Command`
naming its request model and app function; flags and help are generated from the request.

Errors the user can act on (:class:`KubetallyError`) become one red line and exit 2.
"""

from __future__ import annotations

import importlib
from typing import Any

import click
import typer

from kubetally.cligen import Command, group, run_main

HELP = "FinOps for Kubernetes: what each workload uses and costs, who owns it, what is wasted, what to change."

legacy = typer.Typer(name="kubetally", add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
"""Commands not yet generated from a request model (being migrated to kubetally.app)."""

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
    "baseline",
    "report",
    "serve",
)


def _bridge(command: Any) -> click.Command:
    """A not-yet-migrated typer command, run with its own parser."""
    name = command.name or ""

    def run() -> None:
        ctx = click.get_current_context()
        command.main(args=ctx.args, prog_name=f"kubetally {name}")

    settings = {"ignore_unknown_options": True, "allow_extra_args": True, "help_option_names": []}
    bridged = click.Command(name, callback=run, context_settings=settings, help=command.help, add_help_option=False)
    bridged.wrapped = command  # type: ignore[attr-defined]  # what option_names() reads
    return bridged


def _commands() -> list[Command | click.Command]:
    modules = [importlib.import_module(f"kubetally.cli.{name}") for name in COMMAND_MODULES]
    old = typer.main.get_group(legacy).commands
    out: list[Command | click.Command] = []
    for name, module in zip(COMMAND_MODULES, modules, strict=True):
        if hasattr(module, "COMMANDS"):
            out.extend(module.COMMANDS)
        elif hasattr(module, "COMMAND"):
            out.append(module.COMMAND)
        else:
            out.append(_bridge(old[{"costdiff": "cost-diff"}.get(name, name)]))
    return out


app = group(
    "kubetally",
    HELP,
    _commands(),
    groups={
        "export": "Export cost data in standard formats.",
        "baseline": "Save a summary of a stable period and compare later windows with it.",
        "retention": "Archive rows older than a policy's `keep` to verified Parquet files, then delete them (dry run "
        "unless --yes); restore them; run it as a CronJob. See docs/retention.md.",
    },
)


def option_names(*path: str) -> list[str]:
    """Every ``--long`` option of the command at ``path`` (e.g. ``("export", "focus")``), ``--help`` and hidden
    (deprecated) spellings left out."""
    command: Any = app  # a click command, or a typer one (typer vendors its own click)
    for name in path:
        command = getattr(command, "wrapped", command).commands[name]
    command = getattr(command, "wrapped", command)
    shown = [param for param in command.params if not getattr(param, "hidden", False)]  # not deprecated spellings
    opts = [opt for param in shown for opt in (*param.opts, *param.secondary_opts)]
    return [opt for opt in dict.fromkeys(opts) if opt.startswith("--") and opt != "--help"]


def main() -> None:
    """Console-script entry point."""
    run_main(app)
