"""Put one real ``/metrics`` capture on a time axis, as a Prometheus would have scraped it.

A capture is one scrape of one target. :func:`replay` turns it into OpenMetrics samples for
``[start, end]`` at ``interval`` seconds, the way the scrape loop stores them:

* the target labels a kube-prometheus-stack scrape adds are added, and with ``honor_labels``
  (kps sets it for the kubelet and kube-state-metrics) the exporter's own label wins on a clash;
* empty label values are dropped (Prometheus stores ``a=""`` as no label);
* every target gets its own phase inside the interval (a hash of its job and instance, as
  Prometheus spreads targets), so two targets are never scraped at the same instant;
* a series that names a pod starts when that pod started (``kube_pod_start_time`` of the capture,
  else ``kube_pod_created``), not before;
* gauges keep their captured value; counters grow linearly to the captured value at the capture's
  time from 0 at ``born`` (the pod's start, or ``counter_born``), so ``rate()`` is the series' real
  average rate over its lifetime, never a made-up one.

Nothing else is changed: names, label values and gauge values are the capture's own.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from prometheus_client.parser import text_string_to_metric_families

_FAMILY_TYPES = {"counter": "counter", "gauge": "gauge"}


@dataclass(frozen=True)
class Target:
    """One scrape target: the capture file and the labels the scrape config adds."""

    capture: Path
    labels: Mapping[str, str]
    """Target labels (job, instance, ...), added to every series."""
    honor_labels: bool = True
    captured_at: float | None = None
    """Epoch seconds of the scrape; default: the end of the replay."""
    counter_born: float | None = None
    """When counters without a pod were 0 (default: one hour before the capture)."""
    drop: tuple[str, ...] = ()
    """Families of the capture left out (named in the test that does it, with why)."""


@dataclass
class _Series:
    name: str
    labels: dict[str, str]
    value: float
    born: float | None


@dataclass
class _Family:
    name: str
    type: str
    series: list[_Series] = field(default_factory=list)


def _families(text: str) -> list[_Family]:
    out: list[_Family] = []
    for fam in text_string_to_metric_families(text):
        kind = _FAMILY_TYPES.get(fam.type, "gauge")
        family = _Family(fam.name, kind)
        for sample in fam.samples:
            if sample.name.endswith(("_created", "_bucket", "_count", "_sum")) and kind == "counter":
                continue
            family.series.append(_Series(sample.name, dict(sample.labels), float(sample.value), None))
        out.append(family)
    return out


def _pod_starts(families: Iterable[_Family]) -> dict[tuple[str, str], float]:
    starts: dict[tuple[str, str], float] = {}
    for name in ("kube_pod_created", "kube_pod_start_time"):  # start time wins when both exist
        for fam in families:
            if fam.name == name:
                for s in fam.series:
                    starts[(s.labels.get("namespace", ""), s.labels.get("pod", ""))] = s.value
    return starts


def phase_of(labels: Mapping[str, str], interval: int) -> int:
    """Seconds into each interval at which this target is scraped (stable, per job + instance)."""
    key = f"{labels.get('job', '')}/{labels.get('instance', '')}".encode()
    return int(hashlib.sha256(key).hexdigest(), 16) % interval


def replay(
    targets: Iterable[Target],
    out: IO[str],
    *,
    start: int,
    end: int,
    interval: int,
    pod_starts: Mapping[tuple[str, str], float] | None = None,
) -> int:
    """Write every target's samples in ``[start, end]`` as OpenMetrics to ``out``; return the sample count.

    ``pod_starts`` (namespace, pod) -> epoch: when pods started, for captures that do not carry
    it themselves (cAdvisor, node-exporter); the kube-state-metrics capture's own start times are
    used otherwise.
    """
    loaded = [(t, _families(t.capture.read_text())) for t in targets]
    starts = dict(pod_starts or {})
    for _, fams in loaded:
        starts.update(_pod_starts(fams))
    merged: dict[str, _Family] = {}
    for target, fams in loaded:
        captured = target.captured_at if target.captured_at is not None else float(end)
        phase = phase_of(target.labels, interval)
        for fam in fams:
            if fam.name in target.drop:
                continue
            into = merged.setdefault(fam.name, _Family(fam.name, fam.type))
            for s in fam.series:
                labels = dict(target.labels)
                for k, v in s.labels.items():
                    if target.honor_labels or k not in labels:
                        labels[k] = v
                    else:
                        labels[f"exported_{k}"] = v
                labels = {k: v for k, v in labels.items() if v != ""}
                pod = (s.labels.get("namespace", ""), s.labels.get("pod", ""))
                born = starts.get(pod) if pod[1] else None
                if born is None and fam.type == "counter":
                    born = target.counter_born if target.counter_born is not None else captured - 3600
                into.series.append(_Series(s.name, labels, s.value, born))
                into.series[-1].labels["__phase__"] = str(phase)
                into.series[-1].labels["__captured__"] = repr(captured)
    written = 0
    for fam in merged.values():
        out.write(f"# TYPE {fam.name} {fam.type}\n")
        for s in fam.series:
            phase = int(s.labels.pop("__phase__"))
            captured = float(s.labels.pop("__captured__"))
            rendered = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(s.labels.items()))
            first = start + phase
            if s.born is not None:
                first = max(first, start + phase + math.ceil(max(0.0, s.born - start - phase) / interval) * interval)
            t = first
            while t <= end:
                value = s.value
                if fam.type == "counter" and s.born is not None and captured > s.born:
                    value = s.value * max(0.0, (t - s.born) / (captured - s.born))
                out.write(f"{s.name}{{{rendered}}} {value!r} {t}\n")
                written += 1
                t += interval
    out.write("# EOF\n")
    return written


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def samples(path: Path) -> Iterator[str]:
    """The sample lines of an OpenMetrics file (for tests that look at the replay itself)."""
    with open(path) as text:
        for line in text:
            if line and not line.startswith("#"):
                yield line.rstrip("\n")
