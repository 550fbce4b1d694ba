"""The demo: simulate the AuditFlow cluster, save and record the dataset, then run every use case on it.

The demo is the ordered list :data:`STEPS` of app calls; each returns a result that
``kubetally.outputs.demo`` renders (and writes its files next to the dataset). To show a new
use case in the demo, add one :class:`Step` here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from pydantic import Field, model_validator

from kubetally.app.base import Progress, cli, like, no_progress
from kubetally.app.insights import StoreRequest
from kubetally.app.source import Opened, opened_dataset
from kubetally.app.targets import check_directory
from kubetally.dataset import Dataset
from kubetally.outputs.demo import (
    DemoResult,
    FocusStep,
    ManifestsStep,
    ReportStep,
    RightsizeStep,
    ScaleStep,
    ShowbackStep,
    StorageStep,
    WasteStep,
)
from kubetally.outputs.registry import Result
from kubetally.simulate import ScenarioConfig


class DemoRequest(StoreRequest):
    """Run the whole pipeline on the built-in AuditFlow cluster (4 Raspberry Pis, k3s), no cluster needed.

    Simulates DAYS of history at STEP resolution, saves the Dataset to OUT/dataset, records the run in the history
    store and prints the summary and every analysis."""

    out: Path = Field(
        Path("out/demo"),
        description="Directory for the demo's dataset and files (replaced on each run).",
        json_schema_extra=cli(metavar="DIR"),
    )
    days: float = Field(14.0, ge=0.1, le=120, description="Days of history to simulate.")
    step: int = like(ScenarioConfig, "step_seconds", description="Sampling step in seconds.", metavar="SECONDS")
    seed: int = like(ScenarioConfig, "seed", description="Random seed (same seed, same data).")
    no_store: bool = Field(False, description="Do not record this run in the history store.")

    @model_validator(mode="after")
    def _out(self) -> DemoRequest:
        check_directory("--out", self.out)
        return self

    @property
    def scenario(self) -> ScenarioConfig:
        return ScenarioConfig(days=self.days, step_seconds=self.step, seed=self.seed)


@dataclass(frozen=True)
class DemoContext:
    """What every step gets: the dataset (opened as a source) and the directory for its files."""

    opened: Opened
    out_dir: Path

    @property
    def dataset(self) -> Dataset:
        return self.opened.dataset


def context(dataset: Dataset, out_dir: Path) -> DemoContext:
    return DemoContext(opened=opened_dataset(dataset), out_dir=out_dir)


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    run: Callable[[DemoContext], Result]


def _showback(ctx: DemoContext) -> ShowbackStep:
    from kubetally.app.showback import ShowbackRequest, showback
    from kubetally.outputs.formats import render as render_frame

    source = ShowbackRequest(demo=True)
    by_team = showback(source.model_copy(update={"by": ("team",)}), ctx.opened)
    by_value = showback(source.model_copy(update={"by": ("criticality",)}), ctx.opened)
    path = ctx.out_dir / "showback-by-team.csv"
    path.write_text(render_frame(by_team.report.rows, "csv"))
    return ShowbackStep(by_team=by_team, by_value=by_value, csv=path)


def _nodes(ctx: DemoContext) -> Result:
    from kubetally.app.nodes import NodesRequest, nodes

    return nodes(NodesRequest(demo=True, recommended=True), ctx.opened)


def _export(ctx: DemoContext) -> FocusStep:
    from kubetally.app.export import FocusRequest, export_focus

    written = export_focus(FocusRequest(demo=True, out=ctx.out_dir / "focus", overwrite=True), ctx.opened)
    return FocusStep(rows=written.counts["rows"], files=written.files)


def _rightsize(ctx: DemoContext) -> RightsizeStep:
    from kubetally.app.rightsize import default_recommendations
    from kubetally.model.pricing import default_price_book
    from kubetally.outputs.formats import render as render_frame

    recs = default_recommendations(ctx.dataset, default_price_book())
    target = ctx.out_dir / "rightsizing.json"
    target.write_text(render_frame(recs, "json"))
    return RightsizeStep(recommendations=recs, file=target)


def _storage(ctx: DemoContext) -> StorageStep:
    from kubetally.app.inputs import price_book
    from kubetally.app.storage import build_report
    from kubetally.data import demo_text
    from kubetally.model.retention import parse_policy_text

    book = price_book(None)
    text = demo_text("retention.yaml")
    policy = parse_policy_text(text, where="the demo's retention policy")
    report = build_report(dataset=ctx.dataset, dsn=None, book=book, rules=policy.tables)
    return StorageStep(report=report, currency=book.currency, policy=text.split("\n", 2)[2])


def repository_k8s() -> Path | None:
    """The AuditFlow manifests of a source checkout (``k8s/`` next to ``src/``), if present."""
    candidate = Path(__file__).resolve().parents[3] / "k8s"
    return candidate if candidate.is_dir() else None


def _manifests(ctx: DemoContext) -> ManifestsStep:
    from kubetally.app.rightsize import default_recommendations, manifest_plan, plan_report, plan_summary

    directory = repository_k8s()
    if directory is None:
        return ManifestsStep(skipped="k8s/ not found (the AuditFlow manifests ship with a source checkout): skipped")
    plan, notes = manifest_plan(default_recommendations(ctx.dataset, priced=False), directory, namespace=None)
    target = ctx.out_dir / "k8s-rightsizing.diff"
    target.write_text(plan.diff())
    shown = os.path.relpath(directory)
    shown = str(directory) if shown.startswith("..") else shown
    return ManifestsStep(
        changes=plan.changes,
        summary=plan_summary(plan),
        file=target,
        apply=f"kubetally rightsize --dataset {ctx.out_dir / 'dataset'} --manifests {shown} --apply",
        report=tuple(plan_report(plan)),
        not_changed=tuple(notes),
    )


def _scale(ctx: DemoContext) -> ScaleStep:
    from kubetally.app.scale import ScaleRequest, scale
    from kubetally.outputs.scaling import proposed_manifests

    result = scale(ScaleRequest(demo=True), ctx.opened)
    target = ctx.out_dir / "scaling.yaml"
    target.write_text(proposed_manifests(result.hpa, result.offhours))
    return ScaleStep(result=result, file=target)


def _waste(ctx: DemoContext) -> WasteStep:
    from kubetally.app.waste import WasteRequest, waste
    from kubetally.outputs.waste import to_json

    result = waste(WasteRequest(demo=True), ctx.opened)
    target = ctx.out_dir / "waste.json"
    target.write_text(to_json(result.report))
    return WasteStep(result=result, file=target)


def _report(ctx: DemoContext) -> ReportStep:
    from kubetally.app.baseline import first_and_last
    from kubetally.app.insights import OverviewRequest, overview_of
    from kubetally.app.report import write_report

    request = OverviewRequest(demo=True)
    overview, _ = overview_of(request, ctx.opened)
    # what `kubetally baseline save` + `baseline diff` would say, the first week as the baseline
    changes = first_and_last(request, ctx.opened, span=timedelta(days=7))
    path = write_report(overview, ctx.out_dir / "report.html", changes=changes)
    return ReportStep(changes=changes, currency=overview.currency, file=path)


STEPS: tuple[Step, ...] = (
    Step("showback", "Cost: showback by team, spend without owner, cost vs value", _showback),
    Step("nodes", "Nodes: stranded capacity and how many Pis the workloads need", _nodes),
    Step("export", "Export: FOCUS 1.2 cost and usage files", _export),
    Step("rightsize", "Right-sizing: top opportunities (tiered policy)", _rightsize),
    Step("storage", "Storage: the growing audit_event table, when its volume fills, what retention does", _storage),
    Step("manifests", "Manifests: the right-sizing as a diff of k8s/", _manifests),
    Step("scale", "Scaling: HPA what-if and off-hours plans", _scale),
    Step("waste", "Waste: idle, unused, orphaned and chatty, with what it costs", _waste),
    Step("report", "Report for the business owner (one HTML file)", _report),
)
"""The demo's use cases, in the order it shows them."""


def step(key: str) -> Step:
    """The step named ``key`` (e.g. ``"waste"``)."""
    return next(s for s in STEPS if s.key == key)


def demo(request: DemoRequest, progress: Progress = no_progress) -> DemoResult:
    """Simulate, save, record, then every step of :data:`STEPS` on the dataset."""
    from kubetally.analysis.summary import node_summary, workload_summary
    from kubetally.data import demo_inputs
    from kubetally.dataset import save
    from kubetally.simulate import simulate
    from kubetally.store import RunStore

    # the demo's owners and allocation files go with the dataset, so `showback -d OUT/dataset` prints its figures
    dataset = simulate(
        request.scenario, progress=lambda done, total: progress(f"simulating pods: {done}/{total}")
    ).with_info(inputs=demo_inputs())
    progress("saving the dataset...")
    target = save(dataset, request.out / "dataset", overwrite=True)
    recorded = None
    if not request.no_store:
        with RunStore(request.store) as history:
            recorded = (history.record(dataset, command="demo"), history.path)
    ctx = context(dataset, request.out)
    done = []
    for number, item in enumerate(STEPS, 1):
        progress(f"{number}/{len(STEPS)} {item.key}...")
        done.append((item.title, item.run(ctx)))
    return DemoResult(
        days=request.days,
        step_seconds=request.step,
        seed=request.seed,
        dataset=target,
        counts=dataset.counts(),
        recorded=recorded,
        nodes=node_summary(dataset),
        workloads=workload_summary(dataset),
        steps=tuple(done),
    )
