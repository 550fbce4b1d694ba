"""Right-sizing output: the terminal table and the top opportunities (money comes from
``kubetally.analysis.rightsizing.money``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import polars as pl
from rich.console import RenderableType
from rich.table import Table

from kubetally.model import columns as c
from kubetally.outputs.registry import Result, register
from kubetally.outputs.terminal import cores, mebibytes, workload_name


def _cpu(value: float | None) -> str:
    return cores(value, millicores_below=10)


def _pair(cur: str, rec: str) -> str:
    return cur if cur == rec else f"{cur}→{rec}"


STATUS_STYLE = {"over-provisioned": "yellow", "under-provisioned": "red", "ok": "green", "no-recommendation": "dim"}


STATUS_SHORT = {"over-provisioned": "over", "under-provisioned": "under", "ok": "ok", "no-recommendation": "none"}


def recommendation_table(recs: pl.DataFrame, *, title: str, limit: int | None = None) -> Table:
    """Current → recommended request/limit per container, status, money and evidence (or the reason)."""
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("workload / container", no_wrap=True, max_width=48, overflow="ellipsis")
    for header in ("CPU req", "CPU lim", "mem req", "mem lim", "saving/mo"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("evidence / reason", min_width=24, overflow="fold")
    rows = recs if limit is None else recs.head(limit)
    for r in rows.iter_rows(named=True):
        money = r.get(c.MONTHLY_SAVING)
        if money is None:
            cpu_s, mem_s = r[c.CPU_SAVING_CORES], r[c.MEMORY_SAVING_BYTES]
            saving = "-" if cpu_s is None and mem_s is None else f"{_cpu(cpu_s or 0.0)} {mebibytes(mem_s or 0)}"
        else:
            saving = f"{money + 0.0:,.2f} {r[c.CURRENCY]}"  # + 0.0: no "-0.00"
        if r[c.STATUS] == "no-recommendation":
            why = r[c.REASON]
        elif r[c.EVIDENCE]:
            why = r[c.EVIDENCE]
        else:  # the strategy's note up to its colon: "tier standard", "KRR simple", "VPA target P90+15%"
            why = r[c.REASON].split(":")[0].split(";")[0]
        name = workload_name(r[c.NAMESPACE], r[c.OWNER_KIND], r[c.OWNER_NAME])
        if r[c.CONTAINER] != r[c.OWNER_NAME]:
            name += f" / {r[c.CONTAINER]}"
        table.add_row(
            name,
            _pair(_cpu(r[c.CURRENT_CPU_REQUEST_CORES]), _cpu(r[c.RECOMMENDED_CPU_REQUEST_CORES])),
            _pair(_cpu(r[c.CURRENT_CPU_LIMIT_CORES]), _cpu(r[c.RECOMMENDED_CPU_LIMIT_CORES])),
            _pair(mebibytes(r[c.CURRENT_MEMORY_REQUEST_BYTES]), mebibytes(r[c.RECOMMENDED_MEMORY_REQUEST_BYTES])),
            _pair(mebibytes(r[c.CURRENT_MEMORY_LIMIT_BYTES]), mebibytes(r[c.RECOMMENDED_MEMORY_LIMIT_BYTES])),
            saving,
            f"[{STATUS_STYLE.get(r[c.STATUS], '')}]{STATUS_SHORT.get(r[c.STATUS], r[c.STATUS])}[/]",
            why,
        )
    return table


def top_opportunities(recs: pl.DataFrame, n: int = 10, *, risks: int = 3) -> pl.DataFrame:
    """Up to ``risks`` rows with evidence of trouble (OOM kills first), then the biggest savings
    (money, else CPU cores freed)."""
    order = c.MONTHLY_SAVING if c.MONTHLY_SAVING in recs.columns else c.CPU_SAVING_CORES
    trouble = (
        recs.filter((pl.col(c.STATUS) == "under-provisioned") & (pl.col(c.EVIDENCE) != ""))
        .sort([c.OOM_KILLS, c.CPU_THROTTLED_RATIO], descending=True, nulls_last=True)
        .head(risks)
    )
    savings = (
        recs.filter(pl.col(c.STATUS) == "over-provisioned")
        .sort(order, descending=True, nulls_last=True)
        .head(max(0, n - trouble.height))
    )
    return pl.concat([trouble, savings])


def totals_line(recs: pl.DataFrame) -> str:
    """What applying every recommendation frees: counts by status, cores, GiB and money per month."""
    if recs.height == 0:
        return "no workload containers in the dataset: nothing to recommend"
    counts = recs.group_by("status").len().sort("status")
    parts = ", ".join(f"{n} {s}" for s, n in counts.iter_rows())
    cpu = recs.select(pl.col("cpu_saving_cores").fill_null(0).sum()).item()
    mem = recs.select(pl.col("memory_saving_bytes").fill_null(0).sum()).item() / 2**30
    money = recs.select(pl.col("monthly_saving").sum()).item()
    book = recs.select(pl.col("monthly_book_saving").sum()).item() if "monthly_book_saving" in recs.columns else None
    currency = recs.select(pl.col("currency").drop_nulls().first()).item()
    line = f"{recs.height} containers: {parts}. If all applied: {cpu:+.2f} cores, {mem:+.2f} GiB freed"
    if money is not None and currency:
        line += f", {money:+,.2f} {currency}/month in cash"
        if book:
            line += f" (and {book:+,.2f} of book value: amortisation of owned hardware)"
    return line


@dataclass(frozen=True, kw_only=True)
class RecommendationsResult(Result):
    """Right-sizing recommendations with money (the frame of ``kubetally.model.recommendation``)."""

    recommendations: pl.DataFrame
    strategy: str
    all_rows: bool = False
    kind: ClassVar[str] = "rightsize"

    def data(self) -> pl.DataFrame:
        return self.recommendations


@register("table", RecommendationsResult)
def _recommendations_table(result: RecommendationsResult) -> list[RenderableType]:
    recs = result.recommendations
    shown = recs if result.all_rows else recs.filter(pl.col("status") != "ok")
    title = f"Right-sizing ({result.strategy}): current → recommended"
    return [recommendation_table(shown, title=title), totals_line(recs)]


def change_table(changes: Sequence[Any], *, limit: int = 14) -> Table:
    """The first ``limit`` changes of a manifest plan (``actions.manifests.ManifestPlan.changes``)."""
    table = Table(title="Proposed resource changes in k8s/", title_justify="left")
    for header in ("workload", "container", "field", "now", "proposed"):
        table.add_column(header)
    for change in changes[:limit]:
        table.add_row(
            f"{change.ref.namespace}/{change.ref.name}",
            change.container,
            ".".join(change.field),
            change.before or "(unset)",
            change.after or "(removed)",
        )
    if len(changes) > limit:
        table.add_row(f"... {len(changes) - limit} more", "", "", "", "")
    return table
