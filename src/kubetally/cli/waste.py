"""`kubetally waste`: what is idle, unused, orphaned or too chatty, with its monthly cost (docs/waste.md).

Thin: open the dataset (any source), read the settings file, run the pure rules, render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from kubetally.analysis.waste import (
    RULE_IDS,
    SEVERITIES,
    WasteReport,
    WasteSettings,
    at_or_above,
    findings,
    log_volume,
)
from kubetally.analysis.waste.settings import waste_settings_from_text
from kubetally.cli import legacy as app
from kubetally.cli.costopts import PricesOpt, load_prices
from kubetally.cli.demo import DemoContext, demo_section
from kubetally.cli.options import DatasetOpt, DemoOpt, PrometheusOpt, open_dataset, stderr
from kubetally.dataset import Dataset
from kubetally.errors import ConfigError
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.outputs import waste as render
from kubetally.outputs.formats import records
from kubetally.outputs.terminal import console

OUTPUTS = ("table", "json", "yaml", "sarif", "markdown")

KubeDumpOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--kube-dump",
        help="Read objects from `kubectl get -o json|yaml` output (file or directory, repeatable): "
        "one point in time, so the rules over usage (idle, logs, growth) have nothing to judge.",
    ),
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kubetally")
    except PackageNotFoundError:
        return "unknown"


def _settings(path: Path | None) -> WasteSettings:
    if path is None:
        return WasteSettings()
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"--config {path}: cannot read it: {exc.strerror}") from None
    return waste_settings_from_text(text, where=str(path))


def _open(demo: bool, dataset: Path | None, prometheus: str | None, kube_dump: list[Path] | None) -> Dataset:
    if kube_dump:
        if demo or dataset is not None or prometheus is not None:
            raise ConfigError("give exactly one data source: --demo, --dataset DIR, --prometheus URL or --kube-dump")
        from kubetally.sources.kubernetes import dataset_from_dump

        for path in kube_dump:
            if not path.exists():
                raise ConfigError(f"--kube-dump {path}: no such file or directory")
        return dataset_from_dump(kube_dump)
    return open_dataset(demo=demo, dataset=dataset, prometheus=prometheus)


def _check_namespaces(namespaces: list[str] | None, data: Dataset) -> None:
    """Refuse a ``--namespace`` the dataset has no object in (a typo would print "no waste found")."""
    if not namespaces:
        return
    known: set[str] = set()
    for spec in (schema.CONTAINERS, schema.WORKLOADS, schema.OBJECTS, schema.VOLUMES):
        known |= set(data.table(spec)[c.NAMESPACE].to_list())
    unknown = [n for n in namespaces if n not in known]
    if unknown:
        raise ConfigError(
            f"--namespace {', '.join(unknown)}: no such namespace in the dataset "
            f"(it has {', '.join(sorted(n for n in known if n))})"
        )


@app.command("waste")
def waste_command(
    demo: DemoOpt = False,
    dataset: DatasetOpt = None,
    prometheus: PrometheusOpt = None,
    kube_dump: KubeDumpOpt = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Waste settings (YAML): thresholds, the labelling policy, orphan exclusions and an ignore list "
            "(docs/waste.md).",
        ),
    ] = None,
    prices: PricesOpt = None,
    output: Annotated[str, typer.Option("--output", "-o", help=f"Output: {', '.join(OUTPUTS)}.")] = "table",
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", "-n", help="Only this namespace (repeatable).")
    ] = None,
    owner: Annotated[
        list[str] | None, typer.Option("--owner", help="Only findings of this owner (team label; repeatable).")
    ] = None,
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help=f"Only this rule (repeatable): {', '.join(RULE_IDS)}.")
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help=f"Exit 1 when a finding is at this severity or worse ({', '.join(SEVERITIES)}); for CI.",
        ),
    ] = None,
) -> None:
    """Find idle, unused, orphaned and chatty things, each with its monthly cost, the fix and how to silence it.

    Each finding names the rule, the object, the evidence over the window, what it costs a month
    (with the price book; "unpriced" without nodes to price), the exact kubectl command that fixes
    it and the annotation that silences it. Findings are grouped by owner (the team label).
    """
    if output not in OUTPUTS:
        raise ConfigError(f"unknown output {output!r}; choose {', '.join(OUTPUTS)}")
    if fail_on is not None and fail_on not in SEVERITIES:
        raise ConfigError(f"--fail-on {fail_on!r}: choose {', '.join(SEVERITIES)}")
    for r in rule or []:
        if r not in RULE_IDS:
            raise ConfigError(f"--rule {r!r}: no such rule; the rules are {', '.join(RULE_IDS)}")
    settings = _settings(config)
    book = load_prices(prices)
    data = _open(demo, dataset, prometheus, kube_dump)
    _check_namespaces(namespace, data)
    report = findings(data, settings=settings, book=book)
    frame = report.findings
    if namespace:
        frame = frame.filter(pl.col(c.NAMESPACE).is_in(namespace))
    if owner:
        frame = frame.filter(pl.col("owner").is_in(owner))
    if rule:
        frame = frame.filter(pl.col("rule").is_in(rule))
    report = WasteReport(frame, report.silenced, report.checked, report.notes)
    for note in (*data.info.notes, *report.notes):
        stderr.print(f"[yellow]note:[/] {note}", highlight=False)
    if output == "json":
        typer.echo(
            render.to_json(report, {"log_volume": records(log_volume(data, settings=settings, book=book))}), nl=False
        )
    elif output == "yaml":
        typer.echo(
            render.to_yaml(report, {"log_volume": records(log_volume(data, settings=settings, book=book))}), nl=False
        )
    elif output == "sarif":
        typer.echo(render.to_sarif(report, version=_version()), nl=False)
    elif output == "markdown":
        typer.echo(render.to_markdown(report), nl=False)
    else:
        console().print(render.tables(report))
    if fail_on is not None:
        worse = at_or_above(report, fail_on)
        if worse:
            stderr.print(f"[red]{worse} finding(s) at {fail_on} or worse[/] (--fail-on {fail_on})", highlight=False)
            raise typer.Exit(1)


@demo_section(order=50, title="Waste: idle, unused, orphaned and chatty, with what it costs")
def _demo(ctx: DemoContext) -> None:
    from kubetally.model.pricing import default_price_book

    report = findings(ctx.dataset, settings=WasteSettings(), book=default_price_book())
    ctx.console.print(render.tables(report))
    target = ctx.out_dir / "waste.json"
    target.write_text(render.to_json(report))
    ctx.console.print(f"every finding with its silence command: {target}")
