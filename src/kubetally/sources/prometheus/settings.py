"""Settings of the Prometheus source: where, how to connect, what window, which jobs."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from kubetally.model.duration import whole_seconds


def parse_duration(text: str) -> int:
    """``14d``, ``1m``, ``90s``, ``300`` (seconds) -> whole seconds (the one parser, ``kubetally.model.duration``)."""
    return whole_seconds(text)


class Connection(BaseModel):
    """How to talk to a server that speaks the Prometheus HTTP API (Prometheus, VictoriaMetrics, Thanos, Mimir)."""

    model_config = ConfigDict(frozen=True)

    url: str = Field(description="Base URL, e.g. http://prometheus:9090 or https://thanos.example/prefix.")
    bearer_token: SecretStr | None = Field(None, description="Bearer token sent as Authorization header.")
    basic_user: str | None = Field(None, description="Basic-auth user name.")
    basic_password: SecretStr | None = Field(None, description="Basic-auth password.")
    headers: tuple[tuple[str, SecretStr], ...] = Field((), description="Extra HTTP headers (name, value).")
    ca_file: str | None = Field(None, description="CA bundle (PEM) to verify the server's certificate.")
    insecure: bool = Field(False, description="Do not verify TLS certificates.")
    timeout_seconds: float = Field(60.0, gt=0, le=3600, description="Timeout of one HTTP request.")
    retries: int = Field(4, ge=0, le=20, description="Retries on 429, 5xx and network errors (backoff with jitter).")
    backoff_seconds: float = Field(0.5, ge=0, le=60, description="First retry delay; doubles each retry (max 30 s).")
    concurrency: int = Field(2, ge=1, le=32, description="Queries in flight at once (keep low for a Raspberry Pi).")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"not an http(s) URL: {redact_url(value)!r}")
        return value.rstrip("/")


class Query(BaseModel):
    """What to collect and how the cluster's monitoring is laid out."""

    model_config = ConfigDict(frozen=True)

    end: datetime | None = Field(None, description="End of the window (UTC); default: now, aligned down to the step.")
    window_seconds: int = Field(14 * 86400, ge=60, description="Length of the window, seconds.")
    step_seconds: int = Field(60, ge=1, le=86400, description="Step of every time series in the Dataset, seconds.")
    rate_window_seconds: int | None = Field(
        None, ge=1, description="Range of rate(); default: the step (needs >= 2 scrapes per step on Prometheus 3)."
    )
    cluster_label: str | None = Field(
        None, description="Label that names the cluster on a central Prometheus/Thanos/Mimir (e.g. cluster)."
    )
    cluster_name: str = Field("default", description="Cluster name when there is no cluster label.")
    clusters: tuple[str, ...] = Field((), description="Only these clusters (needs cluster_label); default all.")
    kubelet_job: str = Field(
        "kubelet", description="Regex of the kubelet/cAdvisor job label (k3s PushProx: k3s-server)."
    )
    kubelet_metrics_path: str = Field(
        "/metrics/cadvisor",
        description="Regex of the metrics_path label of the kubelet's cAdvisor scrape; series without the label "
        "(a scrape config that does not set it) are read too, series of other paths (/metrics/resource) never.",
    )
    ksm_job: str = Field("kube-state-metrics", description="Regex of the kube-state-metrics job label.")
    node_exporter_job: str = Field("node-exporter", description="Regex of the node-exporter job label.")
    postgres_job: str = Field(".*postgres.*", description="Regex of the postgres_exporter job label.")
    max_points_per_series: int = Field(
        2880, ge=10, le=11_000, description="Points per series per query (Prometheus refuses > 11,000)."
    )
    max_points_per_query: int = Field(
        500_000, ge=1000, description="Points one range response may hold (bounds kubetally's memory per query)."
    )
    max_samples_per_query: int = Field(
        20_000_000, ge=1000, description="Estimated samples one query may touch (Prometheus' default limit is 50 M)."
    )

    @field_validator("end")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def redact_url(url: str) -> str:
    """``url`` without ``user:password@`` and without a query string (they may hold secrets)."""
    url = re.sub(r"//[^/@\s]*@", "//", url)
    return url.split("?", 1)[0]
