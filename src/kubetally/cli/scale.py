"""`kubetally scale`: HPA what-if and off-hours plans (docs/scale.md).

Thin: open the dataset, right-size (default strategy) for the per-pod request, price it,
call the pure scaling analyses, render.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl
import typer
from pydantic import ValidationError
from ruamel.yaml import YAML

from kubetally.analysis.scaling import HpaSettings, OffHoursSettings, hpa_whatif, offhours_plans
from kubetally.cli import legacy as app
from kubetally.cli.demo import DemoContext, demo_section
from kubetally.cli.manifest_actions import default_recommendations
from kubetally.cli.options import DatasetOpt, DemoOpt, PrometheusOpt, check_namespaces, open_dataset
from kubetally.dataset import Dataset
from kubetally.errors import ConfigError
from kubetally.model import columns as c
from kubetally.model.pricing import PriceBook, default_price_book, parse_price_text
from kubetally.model.unit_prices import UnitPrices, unit_prices
from kubetally.outputs.formats import records
from kubetally.outputs.scaling import hpa_table, offhours_table, proposed_manifests
from kubetally.outputs.terminal import console

OUTPUTS = ("table", "json", "yaml", "manifests")


def scaling_frames(
    dataset: Dataset, *, book: PriceBook, hpa: HpaSettings, offhours: OffHoursSettings
) -> tuple[pl.DataFrame, pl.DataFrame, UnitPrices]:
    """(HPA what-if, off-hours plans, unit prices) for ``dataset``, at the right-sized per-pod request."""
    prices = unit_prices(book, dataset.nodes, dataset.labels, utilization=dataset.node_utilization())
    # a saving is cash: power, overhead, cloud prices (not the amortisation of owned hardware you keep)
    cash = prices.cash()
    recs = default_recommendations(dataset)
    what_if = hpa_whatif(
        usage=dataset.usage,
        containers=dataset.containers,
        workloads=dataset.workloads,
        labels=dataset.labels,
        step_seconds=dataset.info.step_seconds,
        settings=hpa,
        prices=cash,
        recommendations=recs,
    )
    plans = offhours_plans(
        usage=dataset.usage,
        containers=dataset.containers,
        workloads=dataset.workloads,
        labels=dataset.labels,
        step_seconds=dataset.info.step_seconds,
        settings=offhours,
        prices=cash,
    )
    return what_if.sort(c.MONTHLY_COST_SAVED, descending=True, nulls_last=True), plans, prices


def _book(prices: Path | None) -> PriceBook:
    if prices is None:
        return default_price_book()
    try:
        return parse_price_text(prices.read_text(), where=str(prices))
    except OSError as exc:
        raise ConfigError(f"{prices}: cannot read the price file: {exc.strerror}") from None


@app.command("scale")
def scale_command(
    demo: DemoOpt = False,
    dataset: DatasetOpt = None,
    prometheus: PrometheusOpt = None,
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", "-n", help="Only this namespace (repeatable).")
    ] = None,
    output: Annotated[str, typer.Option("--output", "-o", help=f"Output: {', '.join(OUTPUTS)}.")] = "table",
    prices: Annotated[
        Path | None, typer.Option("--prices", help="Price file (docs/cost-model.md); default: built-in prices.")
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", help="IANA time zone of the users, for off-hours schedules.")
    ] = "Europe/Berlin",
    all_rows: Annotated[
        bool, typer.Option("--all", help="Table: also workloads an HPA would not save on (and why).")
    ] = False,
    max_risk: Annotated[
        float, typer.Option("--max-risk", help="Highest share of time a pod may use more than its CPU request.")
    ] = 0.02,
) -> None:
    """HPA what-if (replay total demand through the HPA controller) and off-hours plans for non-production."""
    if output not in OUTPUTS:
        raise ConfigError(f"unknown output {output!r}; choose {', '.join(OUTPUTS)}")
    try:
        ZoneInfo(timezone)
        pl.select(pl.lit(datetime(2000, 1, 1, tzinfo=UTC)).dt.convert_time_zone(timezone))
    except (ZoneInfoNotFoundError, ValueError, pl.exceptions.PolarsError):
        raise ConfigError(f"--timezone {timezone!r}: not an IANA time zone (e.g. Europe/Berlin, UTC)") from None
    try:
        hpa_settings = HpaSettings(max_risk_ratio=max_risk)
        off_settings = OffHoursSettings(timezone=timezone)
    except ValidationError as exc:
        raise ConfigError(f"--max-risk {max_risk}: {exc.errors()[0]['msg']}") from None
    data = open_dataset(demo=demo, dataset=dataset, prometheus=prometheus)
    check_namespaces(namespace, data)
    what_if, plans, unit = scaling_frames(data, book=_book(prices), hpa=hpa_settings, offhours=off_settings)
    if namespace:
        what_if = what_if.filter(pl.col(c.NAMESPACE).is_in(namespace))
        plans = plans.filter(pl.col(c.NAMESPACE).is_in(namespace))
    if output == "manifests":
        typer.echo(proposed_manifests(what_if, plans), nl=False)
        return
    if output in ("json", "yaml"):
        payload = {"prices": unit.model_dump(), "hpa": records(what_if), "offhours": records(plans)}
        if output == "json":
            typer.echo(json.dumps(payload, indent=2))
        else:
            yaml = YAML(typ="safe", pure=True)
            yaml.default_flow_style = False
            buffer = io.StringIO()
            yaml.dump(payload, buffer)
            typer.echo(buffer.getvalue(), nl=False)
        return
    out = console()
    if not all_rows:
        what_if = what_if.filter(pl.col(c.STATUS).is_in(["recommended", "risky"]))
    out.print(hpa_table(what_if, unit, title="HPA what-if at the right-sized request (vs fixed replicas)"))
    out.print(offhours_table(plans, unit, title="Off-hours plans for non-production workloads"))
    out.print("HPA and annotation YAML: kubetally scale ... -o manifests; every workload: --all")


@demo_section(order=45, title="Scaling: HPA what-if and off-hours plans")
def _demo(ctx: DemoContext) -> None:
    what_if, plans, unit = scaling_frames(
        ctx.dataset, book=default_price_book(), hpa=HpaSettings(), offhours=OffHoursSettings()
    )
    shown = what_if.filter(pl.col(c.STATUS).is_in(["recommended", "risky"]))
    ctx.console.print(hpa_table(shown, unit, title="HPA what-if (workloads an HPA would save on)"))
    ctx.console.print(offhours_table(plans, unit, title="Off-hours plans for non-production workloads"))
    target = ctx.out_dir / "scaling.yaml"
    target.write_text(proposed_manifests(what_if, plans))
    ctx.console.print(f"proposed HPA and downscaler annotations: {target}")
