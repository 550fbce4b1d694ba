"""Prometheus connection and query settings from command-line values and environment variables.

Secrets are read from files or environment variables, never echoed. Every analysis
command that takes ``--prometheus URL`` uses the ``KUBETALLY_PROMETHEUS_*`` variables
below for everything else; ``kubetally collect`` has a flag for each.
"""

from __future__ import annotations

import os
import ssl
from datetime import datetime
from pathlib import Path

from pydantic import SecretStr, ValidationError

from kubetally.errors import ConfigError
from kubetally.model.promql import check_label_name
from kubetally.sources.prometheus import Connection, Query, parse_duration

ENV = {
    "token": "KUBETALLY_PROMETHEUS_TOKEN",
    "token_file": "KUBETALLY_PROMETHEUS_TOKEN_FILE",
    "user": "KUBETALLY_PROMETHEUS_USER",
    "password": "KUBETALLY_PROMETHEUS_PASSWORD",
    "headers": "KUBETALLY_PROMETHEUS_HEADERS",
    "ca_file": "KUBETALLY_PROMETHEUS_CA_FILE",
    "insecure": "KUBETALLY_PROMETHEUS_INSECURE",
    "window": "KUBETALLY_PROMETHEUS_WINDOW",
    "end": "KUBETALLY_PROMETHEUS_END",
    "step": "KUBETALLY_PROMETHEUS_STEP",
    "cluster_label": "KUBETALLY_PROMETHEUS_CLUSTER_LABEL",
    "kubelet_job": "KUBETALLY_PROMETHEUS_KUBELET_JOB",
    "kubelet_metrics_path": "KUBETALLY_PROMETHEUS_KUBELET_METRICS_PATH",
    "ksm_job": "KUBETALLY_PROMETHEUS_KSM_JOB",
}


def _secret_file(path: str | None, what: str) -> SecretStr | None:
    if not path:
        return None
    try:
        return SecretStr(Path(path).read_text().strip())
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} file {path}: {exc.strerror}") from None


def connection(
    url: str,
    *,
    token_file: str | None = None,
    user: str | None = None,
    password_file: str | None = None,
    headers: list[str] | None = None,
    ca_file: str | None = None,
    insecure: bool = False,
    timeout: float = 60.0,
    retries: int = 4,
    concurrency: int = 2,
) -> Connection:
    """A Connection; a flag wins over its ``KUBETALLY_PROMETHEUS_*`` variable."""
    env = os.environ
    token = _secret_file(token_file or env.get(ENV["token_file"]), "bearer token")
    if token is None and env.get(ENV["token"]):
        token = SecretStr(env[ENV["token"]])
    password = _secret_file(password_file, "password")
    if password is None and env.get(ENV["password"]):
        password = SecretStr(env[ENV["password"]])
    ca_file = ca_file or env.get(ENV["ca_file"])
    if ca_file and not Path(ca_file).is_file():
        raise ConfigError(f"CA file {ca_file}: no such file")
    if ca_file:
        try:
            ssl.create_default_context(cafile=ca_file)
        except ssl.SSLError as exc:
            raise ConfigError(f"CA file {ca_file}: not a PEM certificate bundle ({exc.reason})") from None
    raw_headers = list(headers or []) + [h for h in env.get(ENV["headers"], "").split("\n") if h.strip()]
    parsed: list[tuple[str, SecretStr]] = []
    for header in raw_headers:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise ConfigError(f"invalid header {name.strip()!r}: use 'Name: value'")
        parsed.append((name.strip(), SecretStr(value.strip())))
    try:
        return Connection(
            url=url,
            bearer_token=token,
            basic_user=user or env.get(ENV["user"]),
            basic_password=password,
            headers=tuple(parsed),
            ca_file=ca_file,
            insecure=insecure or env.get(ENV["insecure"], "") in ("1", "true", "yes"),
            timeout_seconds=timeout,
            retries=retries,
            concurrency=concurrency,
        )
    except ValidationError as exc:
        raise ConfigError(f"invalid Prometheus connection: {_first(exc)}") from None


def query(
    *,
    window: str | None = None,
    step: str | None = None,
    end: datetime | None = None,
    cluster_label: str | None = None,
    cluster_name: str = "default",
    clusters: list[str] | None = None,
    kubelet_job: str | None = None,
    kubelet_metrics_path: str | None = None,
    ksm_job: str | None = None,
    node_exporter_job: str = "node-exporter",
    postgres_job: str = ".*postgres.*",
    rate_window: str | None = None,
    max_points: int = 2880,
) -> Query:
    env = os.environ
    try:
        env_end = env.get(ENV["end"])
        label = cluster_label or env.get(ENV["cluster_label"])
        if label:
            check_label_name(label)
        return Query(
            end=end or (datetime.fromisoformat(env_end) if env_end else None),
            window_seconds=parse_duration(window or env.get(ENV["window"], "14d")),
            step_seconds=parse_duration(step or env.get(ENV["step"], "1m")),
            rate_window_seconds=parse_duration(rate_window) if rate_window else None,
            cluster_label=cluster_label or env.get(ENV["cluster_label"]) or None,
            cluster_name=cluster_name,
            clusters=tuple(clusters or ()),
            kubelet_job=kubelet_job or env.get(ENV["kubelet_job"], "kubelet"),
            kubelet_metrics_path=kubelet_metrics_path or env.get(ENV["kubelet_metrics_path"], "/metrics/cadvisor"),
            ksm_job=ksm_job or env.get(ENV["ksm_job"], "kube-state-metrics"),
            node_exporter_job=node_exporter_job,
            postgres_job=postgres_job,
            max_points_per_series=max_points,
        )
    except (ValidationError, ValueError) as exc:
        message = _first(exc) if isinstance(exc, ValidationError) else str(exc)
        raise ConfigError(f"invalid Prometheus query settings: {message}") from None


def connection_from_env(url: str) -> Connection:
    """The connection of an analysis command's ``--prometheus URL``: everything else from the environment."""
    return connection(url)


def query_from_env() -> Query:
    """The query of an analysis command's ``--prometheus URL``: window, step, jobs from the environment."""
    return query()


def _first(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error.get("loc", ()))
    return f"{where}: {error.get('msg', 'invalid')}" if where else str(error.get("msg", "invalid"))
