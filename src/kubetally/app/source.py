"""Where a use case's data comes from: one of ``--demo``, ``--dataset DIR``, ``--prometheus URL``.

Resolution happens here, once, for every command. A new source (e.g. ``--kube-dump``) is one
more field on :class:`SourceRequest` plus one entry in :data:`OPENERS`; the exactly-one rule,
the CLI flags and their help follow from that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, model_validator

from kubetally.app.base import Progress, Request, cli, no_progress
from kubetally.dataset import Dataset, load
from kubetally.errors import KubetallyError


class SourceRequest(Request):
    """Exactly one data source."""

    demo: bool = Field(False, description="Use the built-in AuditFlow demo cluster (simulated, 14 days).")
    dataset: Path | None = Field(
        None,
        description="Read a dataset directory written by `kubetally collect` or `kubetally demo`.",
        json_schema_extra=cli(short="-d", metavar="DIR"),
    )
    prometheus: str | None = Field(
        None,
        description="Read the cluster from this Prometheus/VictoriaMetrics/Thanos URL (window, step, auth: "
        "KUBETALLY_PROMETHEUS_* variables, see docs/collect.md).",
        json_schema_extra=cli(metavar="URL"),
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SourceRequest:
        given = [name for name in OPENERS if getattr(self, name) not in (None, False)]
        if len(given) != 1:
            names = ", ".join(f"--{name}" for name in OPENERS)
            raise ValueError(f"give exactly one data source: {names}")
        return self

    @property
    def source_name(self) -> str:
        return next(name for name in OPENERS if getattr(self, name) not in (None, False))


@dataclass(frozen=True)
class Opened:
    """A resolved source: the dataset (with the config files recorded in its ``info.inputs``) and what
    the source noted."""

    dataset: Dataset
    notes: tuple[str, ...] = ()
    demo: bool = False


Opener = Callable[[SourceRequest, Progress], Opened]


def _demo(_: SourceRequest, progress: Progress) -> Opened:
    from kubetally.data import demo_inputs
    from kubetally.simulate import ScenarioConfig, simulate

    progress("simulating the AuditFlow demo cluster (14 days, 1-minute steps)...")
    # the demo's owners and allocation files go with its dataset (DatasetInfo.inputs)
    return Opened(simulate(ScenarioConfig()).with_info(inputs=demo_inputs()), demo=True)


def opened_dataset(dataset: Dataset) -> Opened:
    """An already loaded (or simulated) dataset as an opened source."""
    return Opened(dataset)


def _dataset(request: SourceRequest, _: Progress) -> Opened:
    assert request.dataset is not None
    return opened_dataset(load(request.dataset))


def _prometheus(request: SourceRequest, progress: Progress) -> Opened:
    from kubetally.app.prometheus import connection_from_env, query_from_env
    from kubetally.sources.prometheus import collect

    assert request.prometheus is not None
    progress("reading the cluster from Prometheus...")
    result = collect(connection_from_env(request.prometheus), query_from_env(), progress=progress)
    return Opened(result.dataset, notes=result.dataset.info.notes)


OPENERS: dict[str, Opener] = {"demo": _demo, "dataset": _dataset, "prometheus": _prometheus}
"""Source field -> how to open it, in the order the error message and ``--help`` list them."""


def open_source(request: SourceRequest, progress: Progress = no_progress) -> Opened:
    """The dataset ``request`` names (validated to name exactly one source)."""
    return OPENERS[request.source_name](request, progress)


def check_namespaces(namespaces: tuple[str, ...], dataset: Dataset) -> None:
    """Refuse a ``--namespace`` the dataset does not have (instead of an empty report)."""
    if not namespaces:
        return
    known = set(dataset.containers.get_column("namespace").unique().to_list())
    unknown = [n for n in namespaces if n not in known]
    if unknown:
        raise KubetallyError(
            f"--namespace {', '.join(unknown)}: no such namespace in the dataset (it has {', '.join(sorted(known))})"
        )
