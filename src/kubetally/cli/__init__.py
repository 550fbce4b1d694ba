"""The ``kubetally`` command line: one module per command, each a :class:`kubetally.cligen.Command`
naming its request model and app function; flags and help are generated from the request.

Errors the user can act on (:class:`KubetallyError`) become one red line and exit 2.
"""

from __future__ import annotations

import importlib
from typing import Any

from kubetally.cligen import Command, group, run_main

HELP = "FinOps for Kubernetes: what each workload uses and costs, who owns it, what is wasted, what to change."

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


def _commands() -> list[Command]:
    out: list[Command] = []
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"kubetally.cli.{name}")
        out.extend(getattr(module, "COMMANDS", None) or (module.COMMAND,))
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
    command: Any = app
    for name in path:
        command = command.commands[name]
    shown = [param for param in command.params if not getattr(param, "hidden", False)]  # not deprecated spellings
    opts = [opt for param in shown for opt in (*param.opts, *param.secondary_opts)]
    return [opt for opt in dict.fromkeys(opts) if opt.startswith("--") and opt != "--help"]


def main() -> None:
    """Console-script entry point."""
    run_main(app)
