"""Right-sizing output: the terminal table and the top opportunities (money comes from
``kubetally.analysis.rightsizing.money``)."""

from __future__ import annotations

import polars as pl
from rich.table import Table

from kubetally.analysis.rightsizing.money import CURRENCY, MONTHLY_SAVING
from kubetally.model import columns as c
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
        money = r.get(MONTHLY_SAVING)
        if money is None:
            cpu_s, mem_s = r[c.CPU_SAVING_CORES], r[c.MEMORY_SAVING_BYTES]
            saving = "-" if cpu_s is None and mem_s is None else f"{_cpu(cpu_s or 0.0)} {mebibytes(mem_s or 0)}"
        else:
            saving = f"{money + 0.0:,.2f} {r[CURRENCY]}"  # + 0.0: no "-0.00"
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
    order = MONTHLY_SAVING if MONTHLY_SAVING in recs.columns else c.CPU_SAVING_CORES
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
