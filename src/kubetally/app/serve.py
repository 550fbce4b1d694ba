"""`kubetally serve`: /metrics, a JSON API and a web dashboard over one source, recomputed on an interval."""

from __future__ import annotations

import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from kubetally.app.base import Progress, cli, no_progress
from kubetally.app.insights import OverviewRequest, StoreRequest
from kubetally.app.serving import ServeConfig
from kubetally.model.duration import Span
from kubetally.outputs.exposition import ExpositionSettings
from kubetally.outputs.results import ServeResult
from kubetally.outputs.web.server import parse_listen


class ServeRequest(StoreRequest, OverviewRequest):
    """Serve /metrics (kubetally_* gauges and the OpenCost names existing dashboards query), a JSON API
    (/openapi.json) and a web dashboard (showback by any label with a time range, trend, top savings, waste, nodes,
    right-sizing with evidence) for one source, recomputed every --every in a short-lived worker process (the
    server in between holds only the rendered answers). Read-only; listens on 127.0.0.1 unless told otherwise.
    Ctrl-C or SIGTERM stops it."""

    listen: str = Field(
        "127.0.0.1:8080", description="HOST:PORT to listen on (0.0.0.0:8080 in a pod; port 0 picks a free one).",
        json_schema_extra=cli(metavar="HOST:PORT"),
    )  # fmt: skip
    every: Span = Field(
        timedelta(minutes=5), description="Look at the source this often, e.g. 5m, 1h: Prometheus and the Kubernetes "
        "API are read and recomputed every time, a --dataset only when its files changed, --demo never.",
        json_schema_extra=cli(metavar="DURATION"),
    )  # fmt: skip
    stop_after: Span | None = Field(
        None, description="Stop after this long (for measurements and tests; default: run until Ctrl-C/SIGTERM).",
        json_schema_extra=cli(metavar="DURATION"),
    )  # fmt: skip
    repo: Path | None = Field(
        None, description="A git repository: /api/cost-diff?base=REF&head=REF compares the manifests of two of its "
        "refs, priced with this source's nodes (what 'kubetally cost-diff BASE HEAD --repo DIR -o json' prints). "
        "Without it /api/cost-diff is not served.", json_schema_extra=cli(metavar="DIR"),
    )  # fmt: skip
    manifests_path: str = Field(
        "k8s", description="The manifest folder (or file) inside --repo that /api/cost-diff compares.",
        json_schema_extra=cli(metavar="PATH"),
    )  # fmt: skip
    max_workloads: int = Field(
        ExpositionSettings.model_fields["max_workloads"].default, ge=1, le=100_000,
        description=ExpositionSettings.model_fields["max_workloads"].description,
    )  # fmt: skip
    max_containers: int = Field(
        ExpositionSettings.model_fields["max_containers"].default, ge=1, le=200_000,
        description=ExpositionSettings.model_fields["max_containers"].description,
    )  # fmt: skip

    @field_validator("repo")
    @classmethod
    def _a_repository(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        if not (value / ".git").exists():
            raise ValueError(f"{value}: not a git repository (no .git in it)")
        return value.resolve()


def request_data(request: ServeRequest) -> dict[str, Any]:
    """``request`` as JSON data that validates back to the same request (what a worker is given)."""

    def plain(value: Any) -> Any:
        if isinstance(value, timedelta):
            return value.total_seconds()
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, tuple | list):
            return [plain(v) for v in value]
        return value

    return {name: plain(value) for name, value in request.model_dump().items()}


def serve_config(request: ServeRequest) -> ServeConfig:
    """What the light server process needs (the listen address checked here, before anything runs)."""
    host, port = parse_listen(request.listen)
    return ServeConfig(
        request=request_data(request), host=host, port=port, every_seconds=request.every.total_seconds(),
        stop_after_seconds=None if request.stop_after is None else request.stop_after.total_seconds(),
        dataset=None if request.dataset is None else str(request.dataset.resolve()), demo=request.demo,
    )  # fmt: skip


def serve(request: ServeRequest, progress: Progress = no_progress) -> ServeResult:
    """Become the light server: this process (which imported the whole CLI) replaces itself with
    ``python -m kubetally.app.serving`` (standard library only), which computes in worker processes.
    Never returns; the server prints ``stopped serving URL ...`` and exits 0 when stopped."""
    config = serve_config(request)
    if sys.stderr.isatty():
        sys.stderr.write("\x1b[?25h")  # the spinner hid the cursor; exec leaves no one to show it again
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(config.python, [config.python, "-m", "kubetally.app.serving", config.to_json()])
