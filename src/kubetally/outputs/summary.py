"""The business summary of an Overview as plain data: what the report prints and ``/api/summary`` returns.

Money is rounded to the cent (floats of 2 decimals), from the same showback lines the CLI
prints (``kubetally showback --by team`` gives the same monthly figures), so the numbers in
the report's DOM, the dashboard and the JSON API are the same numbers.

Cash vs book, as docs/cost-model.md defines it for every command: on hardware you own (a price
rule with power draw: a Raspberry Pi profile or an ``owned:`` rule) the purchase amortized over
its lifetime (``NodePrice.amortization_per_hour``) is *book value*: it is spent already, whether
the node runs or not. Its electricity and overhead are cash. Cloud and flat prices are all cash. Lowering
requests alone frees capacity (book value, shown as ``capacity_monthly``); cash appears only
when the freed capacity lets nodes go (the packing estimate at recommended requests).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from kubetally.analysis.allocation.settings import IDLE, OVERHEAD, UNALLOCATED, UNMOUNTED
from kubetally.analysis.waste import RULE_INFO
from kubetally.model import columns as c
from kubetally.model.quantity import format_cpu, format_memory
from kubetally.outputs.overview import Overview

TOP_ACTIONS = 10
RECOMMENDED = "recommended requests"


def _cents(value: Any) -> float:
    return round(float(value or 0.0), 2)


def _ratio(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def team_of_workloads(ov: Overview) -> dict[tuple[str, str], str]:
    """(namespace, controller) -> team, as showback labels it."""
    rows = ov.amounts.select(c.NAMESPACE, c.CONTROLLER, "team").unique()
    return {(ns, ctrl): team for ns, ctrl, team in rows.iter_rows()}


def _showback_rows(rows: pl.DataFrame, key: str) -> list[dict[str, Any]]:
    total = float(sum(float(v) for v in rows.get_column(c.MONTHLY_PROJECTION)))
    out = []
    for row in rows.iter_rows(named=True):
        monthly = _cents(row[c.MONTHLY_PROJECTION])
        out.append(
            {
                key: row[key],
                "monthly": monthly,
                "window": _cents(row[c.TOTAL_COST]),
                "share": round(monthly / total, 4) if total else None,
                "efficiency": _ratio(row[c.TOTAL_EFFICIENCY]),
                "waste_window": _cents(row[c.WASTE_COST]),
            }
        )
    return out


def _daily(ov: Overview) -> dict[str, Any]:
    daily = ov.teams.daily
    days = sorted({d.isoformat() for d in daily.get_column(c.DAY)})
    teams = [str(r["team"]) for r in ov.teams.rows.iter_rows(named=True)]
    series = {team: [0.0] * len(days) for team in teams}
    for row in daily.iter_rows(named=True):
        series[row["team"]][days.index(row[c.DAY].isoformat())] = _cents(row[c.TOTAL_COST])
    return {"days": days, "teams": series}


def _qty(kind: str, value: Any) -> str:
    if value is None:
        return "none"
    return format_cpu(float(value)) if kind == "cpu" else format_memory(float(value))


def _rightsizing_actions(ov: Overview, owners: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
    out = []
    for r in ov.rightsizing.iter_rows(named=True):
        # the whole value of the freed capacity: rightsize's cash saving plus its book value
        saving = None if r["monthly_saving"] is None else r["monthly_saving"] + (r.get("monthly_book_saving") or 0.0)
        if saving is None or r[c.STATUS] not in ("over-provisioned", "under-provisioned"):
            continue
        target = f"{r[c.NAMESPACE]}/{r[c.OWNER_NAME]} ({r[c.OWNER_KIND]}, container {r[c.CONTAINER]})"
        change = (
            f"CPU {_qty('cpu', r[c.CURRENT_CPU_REQUEST_CORES])} → {_qty('cpu', r[c.RECOMMENDED_CPU_REQUEST_CORES])}, "
            f"memory {_qty('memory', r[c.CURRENT_MEMORY_REQUEST_BYTES])} → "
            f"{_qty('memory', r[c.RECOMMENDED_MEMORY_REQUEST_BYTES])}"
        )
        if r[c.STATUS] == "over-provisioned":
            text = f"Lower the requests of {target}: it reserves far more than it uses."
        else:
            why = r.get("evidence") or "it needs more than it reserves"
            text = f"Raise the requests of {target}, because {why}: it costs more, and it stops failing."
        out.append(
            {
                "kind": "right-size",
                "text": text,
                "owner": owners.get((r[c.NAMESPACE], r[c.OWNER_NAME]), UNALLOCATED),
                "monthly": _cents(saving),
                "how": change,
                "namespace": r[c.NAMESPACE],
                "name": r[c.OWNER_NAME],
            }
        )
    return out


def _waste_actions(ov: Overview) -> list[dict[str, Any]]:
    out = []
    for f in ov.waste.findings.iter_rows(named=True):
        where = f"{f['kind']} {f['namespace'] + '/' if f['namespace'] else ''}{f['name']}"
        title = RULE_INFO.get(f["rule"], ("", f["rule"]))[1]
        out.append(
            {
                "kind": f["rule"],
                "text": f"{title[:1].upper()}{title[1:]}: {where} ({f['evidence']}).",
                "how": f["remediation"],
                "owner": f["owner"] or UNALLOCATED,
                "monthly": _cents(f["monthly_cost"]),
                "namespace": f["namespace"],
                "name": f["name"],
            }
        )
    return out


def _packing(ov: Overview, money: pl.DataFrame) -> dict[str, Any]:
    pack = next((p for p in ov.nodes.packing if p.scenario == RECOMMENDED), None)
    if pack is None:
        return {"nodes_now": ov.dataset.nodes.height, "nodes_needed": None, "nodes_freed": [],
                "cash_monthly": 0.0, "book_monthly": 0.0}  # fmt: skip
    freed = money.filter(pl.col(c.NODE).is_in(list(pack.nodes_freed)))
    return {
        "nodes_now": pack.nodes_now,
        "nodes_needed": pack.nodes_needed,
        "nodes_freed": list(pack.nodes_freed),
        "cash_monthly": _cents(freed.get_column("cash_monthly").sum()),
        "book_monthly": _cents(freed.get_column("book_monthly").sum()),
    }


def summary(ov: Overview) -> dict[str, Any]:
    """Every figure of the report, JSON-ready."""
    info = ov.dataset.info
    owners = team_of_workloads(ov)
    teams = _showback_rows(ov.teams.rows, "team")
    tiers = _showback_rows(ov.tiers.rows, "criticality")
    idle = next((t for t in teams if t["team"] == IDLE), None)
    monthly = _cents(ov.teams.monthly_projection)
    money = ov.node_money
    recs = ov.rightsizing
    book = pl.col("monthly_book_saving").fill_null(0.0) if "monthly_book_saving" in recs.columns else pl.lit(0.0)
    savings = recs.select(pl.col("monthly_saving") + book).to_series().drop_nulls()
    actions = sorted(
        [a for a in _rightsizing_actions(ov, owners) + _waste_actions(ov) if a["monthly"] != 0],
        key=lambda a: -abs(a["monthly"]),
    )
    waste = ov.waste.findings.with_columns(pl.col("owner").replace("", UNALLOCATED).fill_null(UNALLOCATED))
    by_owner = (
        waste.group_by("owner")
        .agg(pl.len().alias("findings"), pl.col("monthly_cost").fill_null(0.0).sum().alias("monthly"))
        .sort("monthly", "owner", descending=[True, False])
    )
    nodes = ov.nodes.nodes.join(money.select(c.CLUSTER, c.NODE, "monthly_cost", "cash_monthly", "book_monthly"),
                                on=[c.CLUSTER, c.NODE], how="left")  # fmt: skip
    return {
        "currency": ov.currency,
        "source": info.source,
        "window": {"start": info.start.isoformat(), "end": info.end.isoformat(), "hours": ov.window_hours},
        "computed_at": ov.computed_at.isoformat(),
        "spend": {
            "window_total": _cents(ov.teams.total),
            "monthly": monthly,
            "idle_monthly": idle["monthly"] if idle else 0.0,
            "idle_share": round(idle["window"] / float(ov.teams.total), 4) if idle and ov.teams.total else 0.0,
            "nodes_monthly": _cents(money.get_column("monthly_cost").sum()),
            "cash_monthly": _cents(money.get_column("cash_monthly").sum()),
            "book_monthly": _cents(money.get_column("book_monthly").sum()),
        },
        "teams": teams,
        "tiers": tiers,
        "daily": _daily(ov),
        "savings": {
            "capacity_monthly": _cents(savings.filter(savings > 0).sum()),
            "extra_cost_monthly": _cents(-savings.filter(savings < 0).sum()),
            "net_monthly": _cents(savings.sum()),
            **_packing(ov, money),
        },
        "actions": actions[:TOP_ACTIONS],
        "waste_by_owner": [{"owner": o, "findings": n, "monthly": _cents(m)} for o, n, m in by_owner.iter_rows()],
        "nodes": [
            {
                "node": r[c.NODE],
                "cpu_allocatable_cores": r[c.CPU_ALLOCATABLE_CORES],
                "cpu_requested_cores": round(r["cpu_requested_mean_cores"], 3),
                "cpu_used_p95_cores": round(r["cpu_used_p95_cores"] or 0.0, 3),
                "cpu_stranded_cores": round(r["cpu_stranded_cores"], 3),
                "memory_allocatable_bytes": r[c.MEMORY_ALLOCATABLE_BYTES],
                "memory_requested_bytes": round(r["memory_requested_mean_bytes"]),
                "memory_used_p95_bytes": round(r["memory_used_p95_bytes"] or 0.0),
                "memory_stranded_bytes": round(r["memory_stranded_bytes"]),
                "monthly_cost": _cents(r["monthly_cost"]),
                "cash_monthly": _cents(r["cash_monthly"]),
                "book_monthly": _cents(r["book_monthly"]),
            }
            for r in nodes.iter_rows(named=True)
        ],
        "sentinels": {
            IDLE: "capacity no workload reserved or used",
            UNMOUNTED: "volumes no pod mounts",
            OVERHEAD: "fixed overheads",
            UNALLOCATED: "no team label or owners entry",
        },
    }
