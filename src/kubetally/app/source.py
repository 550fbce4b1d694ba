"""Where a use case's data comes from: one of ``--demo``, ``--dataset DIR``, ``--prometheus URL`` or a Kubernetes
source (``--kube-dump FILE|DIR``, ``--kubeconfig FILE [--context NAME]``, ``--in-cluster``); a Kubernetes source may
also stand beside ``--prometheus``: objects from it, history from Prometheus, one Dataset.

Resolution happens here, once, for every command. A new source (e.g. ``--kube-dump``) is one
more field on :class:`SourceRequest` plus one entry in :data:`OPENERS`; the exactly-one rule,
the CLI flags and their help follow from that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

from pydantic import Field, ValidationError, model_validator

from kubetally.app.base import Progress, Request, cli, no_progress
from kubetally.dataset import Dataset, load
from kubetally.errors import ConfigError, KubetallyError

if TYPE_CHECKING:
    from kubetally.sources.kubernetes import KubeConnection


class SourceRequest(Request):
    """Exactly one data source (at most one when the command can do without: ``source_optional``)."""

    source_optional: ClassVar[bool] = False
    """The use case works without a cluster too (e.g. cost-diff prices at the price file's unit prices)."""
    series_frames: ClassVar[frozenset[str] | None] = None
    """The time-series frames the use case reads (None: all); from --prometheus only these are queried."""

    def hourly_usage(self) -> bool:
        """Whether --prometheus may read usage as hourly summaries by remote read (the use case only needs
        distributions); False: every sample by range queries."""
        return False

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

    kube_dump: tuple[Path, ...] = Field(
        (),
        description="Read the objects from `kubectl get <kinds> -A -o json|yaml` output: a file or a directory of "
        "them (repeatable). One point in time; with --prometheus, the history comes from Prometheus.",
        json_schema_extra=cli(metavar="FILE|DIR"),
    )
    kubeconfig: Path | None = Field(
        None,
        description="Read the objects from the cluster's API server now (read-only, as kubectl's --kubeconfig). "
        "With --prometheus, the history comes from Prometheus.",
        json_schema_extra=cli(metavar="FILE"),
    )
    context: str | None = Field(
        None,
        description="Context of --kubeconfig (default: its current-context).",
        json_schema_extra=cli(metavar="NAME"),
    )
    in_cluster: bool = Field(
        False, description="Read the objects with the pod's service account (kubetally runs in the cluster)."
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> SourceRequest:
        kube = kube_sources(self)
        given = [name for name in OPENERS if getattr(self, name) not in (None, False)] + (["kube"] if kube else [])
        if not given and self.source_optional:
            return self
        if len(given) != 1 and sorted(given) != ["kube", "prometheus"]:
            names = ", ".join([*(f"--{name}" for name in OPENERS), *KUBE_FLAGS])
            raise ValueError(f"give exactly one data source: {names} (a Kubernetes source may go with --prometheus)")
        return self

    @property
    def has_source(self) -> bool:
        """A data source is given (always, unless ``source_optional``)."""
        return any(on(self) for on in KUBE_FLAGS.values()) or any(
            getattr(self, name) not in (None, False) for name in OPENERS
        )

    @property
    def source_name(self) -> str:
        """The source that opens the dataset ("kube" for a Kubernetes source, alone or beside Prometheus)."""
        if any(on(self) for on in KUBE_FLAGS.values()):
            return "kube"
        return next(name for name in OPENERS if getattr(self, name) not in (None, False))


class ApiFields(Protocol):
    """A request naming an API server: ``--kubeconfig FILE [--context NAME]`` or ``--in-cluster`` (RecordRequest)."""

    @property
    def kubeconfig(self) -> Path | None: ...
    @property
    def context(self) -> str | None: ...
    @property
    def in_cluster(self) -> bool: ...


class KubeFields(ApiFields, Protocol):
    """A request with every Kubernetes source field (SourceRequest, CollectRequest)."""

    @property
    def kube_dump(self) -> tuple[Path, ...]: ...


KUBE_FLAGS: dict[str, Callable[[KubeFields], bool]] = {
    "--kube-dump": lambda r: bool(r.kube_dump),
    "--kubeconfig": lambda r: r.kubeconfig is not None,
    "--in-cluster": lambda r: r.in_cluster,
}
"""The Kubernetes sources (one at most), and whether a request names each."""


def kube_sources(request: KubeFields) -> list[str]:
    """The Kubernetes source flags ``request`` gives (none or one); ValueError for two, or a --context
    without --kubeconfig. Every request with the Kubernetes source fields validates with this."""
    kube = [flag for flag, on in KUBE_FLAGS.items() if on(request)]
    if len(kube) > 1:
        raise ValueError(f"give one Kubernetes source: {' or '.join(kube)}, not {len(kube)}")
    if request.context is not None and request.kubeconfig is None:
        raise ValueError("--context needs --kubeconfig")
    return kube


def kube_connection(
    request: ApiFields, *, page_size: int | None = None, timeout: float | None = None
) -> KubeConnection | None:
    """The API server connection ``request`` names (None for a dump or no Kubernetes source)."""
    from kubetally.sources.kubernetes.settings import KubeConnection as Connection

    if request.kubeconfig is None and not request.in_cluster:
        return None
    tuning = {"page_size": page_size, "timeout_seconds": timeout}
    try:
        return Connection(
            kubeconfig=request.kubeconfig,
            context=request.context,
            in_cluster=request.in_cluster,
            **{k: v for k, v in tuning.items() if v is not None},
        )
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ConfigError(f"invalid Kubernetes connection: {message}") from None


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
    result = collect(
        connection_from_env(request.prometheus),
        query_from_env(),
        progress=progress,
        hourly=request.hourly_usage(),
        frames_wanted=request.series_frames,
    )
    return Opened(result.dataset, notes=result.dataset.info.notes)


def _kube(request: SourceRequest, progress: Progress) -> Opened:
    """The objects of the Kubernetes source, over Prometheus' history when --prometheus is given too."""
    from kubetally.app.prometheus import query_from_env
    from kubetally.sources.combined import objects_with_history
    from kubetally.sources.kubernetes import dataset_from_api, dataset_from_dump

    query = query_from_env() if request.prometheus is not None else None
    cluster = query.cluster_name if query is not None else "default"
    settings = kube_connection(request)
    if settings is None:
        progress("reading the kubectl dump...")
        objects = dataset_from_dump(request.kube_dump, cluster_name=cluster)
    else:
        progress("reading the API server...")
        objects = dataset_from_api(settings, cluster_name=cluster, progress=progress)
    if request.prometheus is None:
        alone = (
            "the objects alone have no usage samples: requested is what the pods running at that point request; "
            "used, cost over time and efficiency read '-' or 0: give --prometheus URL beside the Kubernetes source, "
            "or build a history with `kubetally record`"
        )
        return Opened(objects, notes=(*objects.info.notes, alone))
    history = _prometheus(request, progress).dataset
    merged = objects_with_history(objects, history)
    return Opened(merged, notes=merged.info.notes)


OPENERS: dict[str, Opener] = {"demo": _demo, "dataset": _dataset, "prometheus": _prometheus}
"""Source field -> how to open it, in the order the error message and ``--help`` list them (the Kubernetes
sources, :data:`KUBE_FLAGS`, come after them and open with :func:`_kube`)."""


def open_source(request: SourceRequest, progress: Progress = no_progress) -> Opened:
    """The dataset ``request`` names (validated to name exactly one source, or Kubernetes + Prometheus)."""
    if request.source_name == "kube":
        return _kube(request, progress)
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
