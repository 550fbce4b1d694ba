"""The default policy's trade-off curve: rolling backtests of ``tiered`` over settings of one knob.

Loads the two traces in ``testdata/traces/`` once (the 150 Bitbrains Rnd dev VMs: train 14 days,
window 14 days, >= 864 samples in each part; the Google 2011 jobs: train and window 3 days, >= 288),
then scores, in one rolling replay per trace, the operators' own sizes and the ``tiered`` strategy
with the standard tier's ``--knob`` set to each of ``--values`` (every other field at its default, or
as ``--set FIELD=VALUE`` says). Prints one markdown table: per value, the dev and Google figures side
by side (would-be OOM events per 1,000 hours, share of entities hit, memory saving, memory limit
saving, CPU saving, CPU above request; savings pooled over samples, as the issue's scorer computes
them). These are the only inputs the policy is tuned on.

Usage: nice -n 10 .venv/bin/python bench/policy_curve.py --knob memory_limit_max_cut \
           --values 1 0.1 0.03 0.01 0.003 [--set FIELD=VALUE ...] [--only dev|google] [--static]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kubetally.analysis import backtest as bt
from kubetally.analysis.rightsizing import STRATEGIES, EvidenceSettings, TieredSettings
from kubetally.sources.traces import TRACE_STEP_SECONDS, load_trace

TRACES = Path(__file__).resolve().parent.parent / "testdata" / "traces"
SETS = {
    # name: (file, train days, window days, min points)
    "dev": ("bitbrains-rnd-vm001-150.csv.gz", 14.0, 14.0, 864),
    "google": ("google2011-jobs-5min.csv.gz", 3.0, 3.0, 288),
}
COLUMNS = (
    ("OOM /1000 h", bt.OOM_PER_1000H, "{:.3f}"),
    ("hit", bt.HIT, "pct"),
    ("mem saving", bt.MEMORY_SAVING, "{:.3f}"),
    ("mem lim saving", bt.MEMORY_LIMIT_SAVING, "{:.2f}"),
    ("CPU saving", bt.CPU_SAVING, "{:.3f}"),
    ("CPU > req", bt.CPU_OVER_REQUEST, "pct"),
)


def _value(text: str) -> Any:
    """A YAML scalar: 0.5 -> float, true -> bool, daily-peaks -> str."""
    return yaml.safe_load(text)


def _settings(base: dict[str, Any], knob: str, value: Any) -> TieredSettings:
    standard = {**base, knob: value}
    return TieredSettings.from_mapping({"tiers": {"standard": standard}})


def _cell(row: dict[str, Any], metric: str, fmt: str) -> str:
    v = row.get(metric)
    if v is None:
        return "—"
    return f"{100 * v:.1f}%" if fmt == "pct" else fmt.format(v)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--knob", required=True, help="TierPolicy field of the standard tier to vary")
    parser.add_argument("--values", nargs="+", required=True, help="values of the knob (YAML scalars)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="other standard fields")
    parser.add_argument("--only", choices=sorted(SETS), action="append", help="score only this trace")
    parser.add_argument("--static", action="store_true", help="static mode instead of rolling")
    args = parser.parse_args(argv)
    base = {}
    for item in args.set:
        field, eq, text = item.partition("=")
        if not eq:
            parser.error(f"--set {item!r}: expected FIELD=VALUE")
        base[field] = _value(text)
    values = [_value(v) for v in args.values]
    candidates: dict[str, bt.Candidate] = {"current": (None, None)}
    try:
        for v in values:
            candidates[f"{args.knob}={v}"] = (STRATEGIES["tiered"], _settings(base, args.knob, v))
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"error: {'.'.join(map(str, first['loc']))}: {first['msg']}", file=sys.stderr)
        return 2
    mode = "static" if args.static else "rolling"
    figures: dict[str, dict[str, dict[str, Any]]] = {}
    for name in args.only or list(SETS):
        file, train, window, points = SETS[name]
        t0 = time.perf_counter()
        frame = load_trace(TRACES / file)
        results = bt.replay_many(
            frame,
            candidates,
            evidence=EvidenceSettings(),
            backtest=bt.BacktestSettings(mode=mode, train_days=train, window_days=window, min_points=points),
            step_seconds=TRACE_STEP_SECONDS,
        )
        del frame
        figures[name] = {r.strategy: r.summary.to_dicts()[0] for r in results}
        entities = int(figures[name]["current"][bt.ENTITIES])
        print(f"{name}: {file}, {entities} entities, {mode}, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    sets = list(figures)
    head = [args.knob] + [f"{s}: {label}" for s in sets for label, _, _ in COLUMNS]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for label in candidates:
        shown = "operators' sizes" if label == "current" else label.partition("=")[2]
        cells = [_cell(figures[s][label], metric, fmt) for s in sets for _, metric, fmt in COLUMNS]
        print("| " + " | ".join([shown, *cells]) + " |")
    extra = ", ".join(args.set)
    print(f"\n{mode}; standard tier defaults{' + ' + extra if extra else ''}; savings pooled over samples")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
