"""Simulate: the AuditFlow scenario (optionally scaled up) saved as a ground-truth dataset, and optionally its
history as OpenMetrics text (for ``promtool tsdb create-blocks-from openmetrics`` / VictoriaMetrics import)."""

from __future__ import annotations

import shutil
from pathlib import Path

from pydantic import Field, model_validator

from kubetally.app.base import Progress, Request, cli, like, no_progress
from kubetally.app.targets import check_dataset_target, check_file
from kubetally.dataset import save
from kubetally.outputs.written import DatasetWritten
from kubetally.simulate import ScenarioConfig, simulate
from kubetally.simulate.exposition import ExpositionOptions, write_openmetrics


class SimulateRequest(Request):
    """Simulate the AuditFlow cluster (optionally scaled up) and save its ground-truth dataset."""

    out: Path = Field(
        description="Dataset directory to write (every command reads it with -d DIR).",
        json_schema_extra=cli(metavar="DIR", deprecated=("-o", "--output")),
    )
    days: float = like(ScenarioConfig, "days")
    step: int = like(ScenarioConfig, "step_seconds", metavar="SECONDS")
    seed: int = like(ScenarioConfig, "seed")
    extra_workloads: int = like(ScenarioConfig, "extra_workloads")
    nodes: int | None = like(ScenarioConfig, "nodes")
    replicas: int = like(ScenarioConfig, "replicas")
    overwrite: bool = Field(
        False, description="Replace OUT if it is an existing dataset (and the --openmetrics file if it exists)."
    )
    openmetrics: Path | None = Field(
        None,
        description="Also write the history as OpenMetrics text (for promtool backfill / VictoriaMetrics import).",
        json_schema_extra=cli(metavar="FILE"),
    )
    label_allowlist: bool = like(
        ExpositionOptions,
        "label_allowlist",
        description="With --openmetrics: emit kube_*_labels (KSM --metric-labels-allowlist set; "
        "--no-label-allowlist is the KSM >= 2.10 default).",
    )
    lost_container_label: bool = like(
        ExpositionOptions,
        "container_label_lost",
        description="With --openmetrics: k3s cAdvisor without container labels (pod-level series only).",
    )

    @property
    def scenario(self) -> ScenarioConfig:
        return ScenarioConfig(
            days=self.days,
            step_seconds=self.step,
            seed=self.seed,
            extra_workloads=self.extra_workloads,
            nodes=self.nodes,
            replicas=self.replicas,
        )

    @model_validator(mode="after")
    def _steps_and_targets(self) -> SimulateRequest:
        if self.scenario.steps < 1:
            raise ValueError(
                f"--days {self.days:g} is shorter than one --step ({self.step} s): nothing would be simulated"
            )
        if self.openmetrics is None:
            shaped = [flag for flag, on in (("--no-label-allowlist", not self.label_allowlist),
                                            ("--lost-container-label", self.lost_container_label)) if on]  # fmt: skip
            if shaped:
                raise ValueError(f"{shaped[0]} shapes the OpenMetrics text: give --openmetrics FILE too")
        check_dataset_target("--out", self.out, overwrite=self.overwrite)
        if self.openmetrics is not None:
            if self.openmetrics.resolve() == self.out.resolve():
                raise ValueError(f"--openmetrics {self.openmetrics}: give a file path other than the dataset directory")
            if self.openmetrics.is_dir():
                raise ValueError(
                    f"--openmetrics {self.openmetrics}: is a directory; give a file path (e.g. history.om)"
                )
            check_file("--openmetrics", self.openmetrics, overwrite=self.overwrite)
        return self


def simulate_dataset(request: SimulateRequest, progress: Progress = no_progress) -> DatasetWritten:
    """Simulate, save the dataset at ``request.out`` (and the OpenMetrics text): what was written."""
    spill = request.out.with_name(f".{request.out.name}.spill")
    spill.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    lines: list[str] = []
    try:
        dataset = simulate(
            request.scenario,
            spill_dir=spill,
            progress=lambda done, total: progress(f"simulating pods: {done}/{total}"),
        )
        progress("saving")
        save(dataset, request.out, overwrite=request.overwrite)
        counts = dataset.counts()
        lines.append(f"wrote {request.out}: {counts['containers']} containers, {counts['usage']:,} usage samples")
        if request.openmetrics is not None:
            progress("writing OpenMetrics")
            options = ExpositionOptions(
                label_allowlist=request.label_allowlist, container_label_lost=request.lost_container_label
            )
            request.openmetrics.parent.mkdir(parents=True, exist_ok=True)
            with open(request.openmetrics, "wb") as out:
                stats = write_openmetrics(dataset, out, options)
            files.append(request.openmetrics)
            lines.append(
                f"wrote {request.openmetrics}: {stats.families} families, {stats.series:,} series, "
                f"{stats.samples:,} samples"
            )
        info = dataset.info
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return DatasetWritten(
        path=request.out, counts=counts, start=info.start, end=info.end, files=tuple(files), messages=tuple(lines)
    )
