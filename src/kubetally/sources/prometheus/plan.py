"""The query plan: the window split into step-aligned chunks, and every PromQL text.

A fixed set of queries per chunk covers the whole cluster (never one query per
workload). Chunks hold at most ``max_points_per_series`` steps (Prometheus refuses
more than 11,000 points per series) and fewer when the estimated series count times
the points would exceed ``max_samples_per_query``. Label values are quoted with
:mod:`kubetally.model.promql`, never pasted into the query text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from kubetally.model.promql import check_label_name, check_metric_name, matchers, regex_escape
from kubetally.sources.prometheus.settings import Query


@dataclass(frozen=True)
class Window:
    start: int
    """Epoch seconds of the first step's start (a multiple of the step)."""
    end: int
    step: int

    @property
    def steps(self) -> int:
        return (self.end - self.start) // self.step

    @classmethod
    def of(cls, query: Query, now: datetime) -> Window:
        end_at = query.end or now
        step = query.step_seconds
        end = int(end_at.astimezone(UTC).timestamp()) // step * step
        start = end - query.window_seconds // step * step
        return cls(start, end, step)


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int

    @property
    def seconds(self) -> int:
        return self.end - self.start


def chunks(window: Window, points: int) -> list[Chunk]:
    """Consecutive chunks of at most ``points`` steps, aligned to the window's step."""
    points = max(1, points)
    out = []
    t = window.start
    while t < window.end:
        stop = min(window.end, t + points * window.step)
        out.append(Chunk(t, stop))
        t = stop
    return out


def chunk_points(query: Query, series_estimate: int, samples_per_point: int = 2) -> int:
    """Steps per chunk: under 11,000 points per series, under the server's sample budget
    (series x points x samples per point) and under the response size kubetally holds at once."""
    series = max(1, series_estimate)
    samples = query.max_samples_per_query // (series * samples_per_point)
    response = query.max_points_per_query // series
    return max(1, min(query.max_points_per_series, samples, response))


@dataclass(frozen=True)
class RateWindow:
    seconds: int
    fn: str
    """``increase`` (divided by the window) or ``irate``."""
    why: str


def scrape_margin(interval: int) -> int:
    """Slack on top of two scrape intervals (scrape jitter, a late or slow scrape): half an interval."""
    return max(1, interval // 2)


def rate_window(step: int, interval: int | None, requested: int | None) -> RateWindow:
    """The range of rate(): what was asked for; else the step when it holds two scrapes plus a margin;
    else two scrape intervals plus a margin, read with irate (Prometheus needs two samples in the range)."""
    if requested:
        return RateWindow(requested, "increase", f"{requested} s as requested")
    if interval is None:
        return RateWindow(step, "increase", f"{step} s (the step; scrape interval unknown)")
    need = 2 * interval + scrape_margin(interval)
    if step >= need:
        return RateWindow(step, "increase", f"{step} s (the step; it holds >= 2 scrapes of {interval} s)")
    return RateWindow(
        need,
        "irate",
        f"{need} s with irate (2 x the {interval} s scrape interval + {scrape_margin(interval)} s: "
        f"a {step} s step holds fewer than 2 scrapes)",
    )


class PromQL:
    """PromQL texts for one collection; every ``by`` carries the cluster label when configured."""

    def __init__(self, query: Query, step: int, scrape_interval: int | None = None) -> None:
        self.q = query
        self.step = step
        self.scrape_interval = scrape_interval
        self.cluster = [check_label_name(query.cluster_label)] if query.cluster_label else []
        window = rate_window(step, scrape_interval, query.rate_window_seconds)
        self.rate_seconds = window.seconds
        self.rate_fn = window.fn
        self.rate_window = f"{self.rate_seconds}s"
        held = max(step, scrape_interval or step)
        self.gauge_window = f"{held * 1000 - 1}ms"
        """Samples scraped during one step (or one scrape interval when scrapes are rarer than steps),
        whatever the range-boundary semantics of the server."""

    def _sel(self, metric: str, job: str, **extra: str) -> str:
        regex = {"job": job}
        if self.q.clusters and self.q.cluster_label:
            regex[self.q.cluster_label] = "|".join(regex_escape(c) for c in self.q.clusters)
        eq = {k: v for k, v in extra.items() if not k.startswith(("ne_", "re_", "nre_"))}
        ne = {k[3:]: v for k, v in extra.items() if k.startswith("ne_")}
        rx = {k[3:]: v for k, v in extra.items() if k.startswith("re_")}
        nrx = {k[4:]: v for k, v in extra.items() if k.startswith("nre_")}
        inner = matchers(eq, not_equal=ne, regex={**regex, **rx}, not_regex=nrx)
        return f"{check_metric_name(metric)}{{{inner}}}" if metric else f"{{{inner}}}"

    def by(self, *labels: str) -> str:
        return "by (" + ",".join([*self.cluster, *(check_label_name(x) for x in labels)]) + ")"

    # selectors per exporter
    def ksm(self, metric: str, **extra: str) -> str:
        return self._sel(metric, self.q.ksm_job, **extra)

    def kubelet(self, metric: str, **extra: str) -> str:
        return self._sel(metric, self.q.kubelet_job, **extra)

    def cadvisor(self, metric: str, **extra: str) -> str:
        """A kubelet cAdvisor family: ``metrics_path`` of the cAdvisor scrape (or none) and an ``id`` (cgroup)
        label, which every cAdvisor series has and the same names on ``/metrics/resource`` lack; without both,
        CPU and memory double when the kubelet's resource endpoint is scraped under the same job."""
        return self._sel(
            metric, self.q.kubelet_job, re_metrics_path=f"{self.q.kubelet_metrics_path}|", ne_id="", **extra
        )

    def not_cadvisor(self, metric: str) -> tuple[str, str]:
        """The same family from other kubelet endpoints: no ``id`` label, or another ``metrics_path``."""
        path = f"{self.q.kubelet_metrics_path}|"
        return self._sel(metric, self.q.kubelet_job, id=""), self._sel(
            metric, self.q.kubelet_job, nre_metrics_path=path
        )

    def node(self, metric: str, **extra: str) -> str:
        return self._sel(metric, self.q.node_exporter_job, **extra)

    def pg(self, metric: str, **extra: str) -> str:
        return self._sel(metric, self.q.postgres_job, **extra)

    # shapes
    def over(self, fn: str, selector: str, agg: str, labels: tuple[str, ...], seconds: int) -> str:
        """``agg by (labels) (fn(selector[seconds]))``: an instant query over one chunk."""
        return f"{agg} {self.by(*labels)} ({fn}({selector}[{seconds}s]))"

    def raw_over(self, fn: str, selector: str, seconds: int) -> str:
        """``fn(selector[seconds])`` keeping every label (for ``*_labels`` families)."""
        return f"{fn}({selector}[{seconds}s])"

    def rate(self, selector: str, labels: tuple[str, ...]) -> str:
        """Per-second rate. Over a step that holds two scrapes or more: ``increase / window``
        (VictoriaMetrics' rate() widens a window shorter than two scrape intervals, its increase() does
        not; on Prometheus both are the same extrapolated delta). When the step holds fewer than two
        scrapes: ``irate`` over a window of two intervals plus a margin, the rate between the last two
        scrapes (the step's own rate, not a moving average over several steps), kept only for steps in
        which the series was scraped."""
        if self.rate_fn == "irate":
            # only where the series was scraped in the step: irate carries the last rate to the window's end
            fresh = f"count_over_time({selector}[{self.gauge_window}])"
            return f"sum {self.by(*labels)} (irate({selector}[{self.rate_window}]) and {fresh})"
        return f"(sum {self.by(*labels)} (increase({selector}[{self.rate_window}])) / {self.rate_seconds})"

    def gauge(self, selector: str, labels: tuple[str, ...], fn: str = "max_over_time", agg: str = "sum") -> str:
        return f"{agg} {self.by(*labels)} ({fn}({selector}[{self.gauge_window}]))"
