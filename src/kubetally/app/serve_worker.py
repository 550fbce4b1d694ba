"""One short-lived ``kubetally serve`` worker: open the source (or a dataset a worker saved before), compute the
Overview of one window, render its routes as bytes, write them to a file, exit.

``python -m kubetally.app.serve_worker`` reads one job (JSON) on stdin::

    {"request": {...ServeRequest...}, "load": DIR|null, "spill": DIR|null, "window_hours": 168|null,
     "standard": true, "extra": [[PATH, {QUERY}], ...], "out": FILE}

``standard``: render every standard route of the window (false: only ``extra``, e.g. /api/scale, asked for
later).

``load``: read this saved dataset instead of opening the request's source; ``spill``: save the dataset it
opened there (so a later worker for a shorter window need not ask Prometheus again). Exit 0 when ``out`` is
written; otherwise one line on stderr and exit 1. Everything it imported and computed goes when it exits: the
long-lived server (:mod:`kubetally.app.serving`) holds only the bytes.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from kubetally.app.insights import overview_of
from kubetally.app.serve import ServeRequest
from kubetally.app.source import Opened, open_source
from kubetally.dataset import load, save
from kubetally.errors import KubetallyError
from kubetally.outputs.exposition import ExpositionSettings
from kubetally.outputs.overview import Overview
from kubetally.outputs.web.bundle import Bundle, write_bundle
from kubetally.outputs.web.query import BadRequest
from kubetally.outputs.web.views import Application, Views, prerender


def _baseline_names(store: Path | None) -> tuple[list[str], Any]:
    """The saved baselines (none without a store file: a worker never creates one) and the answer for one."""
    from kubetally.outputs.baseline import baseline_of, compare
    from kubetally.store import RunStore, default_path

    path = store if store is not None else default_path()
    if not path.is_file():
        return [], None

    def answer(name: str, views: Views) -> dict[str, Any]:
        with RunStore(path) as runs:
            saved = runs.load_baseline(name)
        ov = views.get()
        return compare(saved, baseline_of(ov, name="now", saved_at=ov.computed_at))

    with RunStore(path) as runs:
        return runs.baselines().get_column("name").to_list(), answer


def like_request(kind: type[Any], request: ServeRequest, **more: Any) -> Any:
    """Another command's request for serve's source and prices (its other options at their defaults)."""
    given = request.model_dump()
    return kind.model_validate({**{k: given[k] for k in kind.model_fields if k in given}, **more})


def scale_json(request: ServeRequest, opened: Opened, query: dict[str, str]) -> bytes:
    """What ``kubetally scale -o json`` prints for serve's source and prices."""
    from kubetally.app.scale import ScaleRequest, scale
    from kubetally.outputs.registry import render

    return str(render(scale(like_request(ScaleRequest, request), opened), "json")).encode()


def storage_json(request: ServeRequest, opened: Opened, query: dict[str, str]) -> bytes:
    """What ``kubetally storage -o json [--report FRAME]`` prints for serve's source and prices (volumes, growth,
    fill dates and what-if prices from the dataset; a source without volumes gives empty frames)."""
    from pydantic import ValidationError

    from kubetally.app.storage import StorageRequest, storage
    from kubetally.outputs.registry import render
    from kubetally.outputs.storage import REPORTS

    try:
        storage_request = like_request(StorageRequest, request, output="json", report=query.get("report"))
    except ValidationError:
        raise BadRequest(f"report={query.get('report')!r}: one of {', '.join(REPORTS)}") from None
    return str(render(storage(storage_request, opened), "json")).encode()


def _one_line(kind: type[Any], exc: Exception) -> BadRequest:
    from pydantic import ValidationError

    from kubetally.app.base import error_line

    text = error_line(kind, exc) if isinstance(exc, ValidationError) else str(exc)
    return BadRequest(text.splitlines()[0] if text else type(exc).__name__)


def backtest_json(request: ServeRequest, opened: Opened, query: dict[str, str]) -> bytes:
    """What ``kubetally backtest -o json`` prints for serve's source, with the query's ``mode``, ``strategy``
    (comma-separated), ``train_days``, ``window_days`` and ``min_points`` as its options."""
    from pydantic import ValidationError

    from kubetally.app.backtest import BacktestRequest, backtest
    from kubetally.errors import ConfigError
    from kubetally.outputs.registry import render

    given: dict[str, Any] = {k: v.strip() for k, v in query.items() if k in ("mode", "train_days", "window_days",
                                                                         "min_points") and v.strip()}  # fmt: skip
    if query.get("strategy", "").strip():
        given["strategy"] = tuple(name.strip() for name in query["strategy"].split(",") if name.strip())
    try:
        result = backtest(like_request(BacktestRequest, request, output="json", **given), opened)
    except (ValidationError, ConfigError) as exc:
        raise _one_line(BacktestRequest, exc) from None
    return str(render(result, "json")).encode()


_REF = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./~^@{}+-]{0,199}")


def costdiff_json(request: ServeRequest, opened: Opened, query: dict[str, str]) -> bytes:
    """What ``kubetally cost-diff BASE HEAD --repo DIR --path PATH -o json`` prints for two git refs of serve's
    ``--repo`` (``base``, ``head``; ``namespace`` as ``-n``), priced with serve's source and prices. Only refs:
    a query never names a local directory."""
    from pydantic import ValidationError

    from kubetally.actions.manifests.lines import ManifestError
    from kubetally.app.costdiff import CostDiffRequest, costdiff
    from kubetally.errors import ConfigError
    from kubetally.outputs.registry import render

    refs = {name: query.get(name, "").strip() for name in ("base", "head")}
    for name, ref in refs.items():
        if not ref:
            raise BadRequest(f"{name}=REF is required: two git refs of --repo, e.g. base=origin/main&head=HEAD")
        if not _REF.fullmatch(ref) or ".." in ref or Path(ref).exists():
            raise BadRequest(f"{name}={ref!r}: not a git ref (a branch, tag, commit or e.g. HEAD~1)")
    namespace = query.get("namespace", "").strip() or None
    try:
        diff_request = like_request(CostDiffRequest, request, output="json", path=request.manifests_path,
                                    namespace=namespace, **refs)  # fmt: skip
        result = costdiff(diff_request, opened)
    except (ValidationError, ConfigError, ManifestError) as exc:
        raise _one_line(CostDiffRequest, exc) from None
    return str(render(result, "json")).encode()


def run_job(job: dict[str, Any]) -> Bundle:
    request = ServeRequest.model_validate(job["request"])
    if job.get("load"):
        opened = Opened(load(Path(job["load"])))
    else:
        opened = open_source(request)
        if job.get("spill"):
            save(opened.dataset, Path(job["spill"]), overwrite=True)
    window = None if job.get("window_hours") is None else timedelta(hours=float(job["window_hours"]))
    computed: list[Overview] = []

    def overview(_: timedelta | None) -> Overview:  # computed on first use: a scale-only job needs none
        if not computed:
            computed.append(overview_of(request, opened, window=window)[0])
        return computed[0]

    views = Views(overview, ExpositionSettings(max_workloads=request.max_workloads,
                                               max_containers=request.max_containers))  # fmt: skip
    standard = bool(job.get("standard", True))
    names, diff = _baseline_names(request.store) if window is None and standard else ([], None)
    more: dict[str, Callable[[dict[str, str]], bytes]] = {
        "/api/scale": lambda q: scale_json(request, opened, q),
        "/api/storage": lambda q: storage_json(request, opened, q),
        "/api/backtest": lambda q: backtest_json(request, opened, q),
    }
    if request.repo is not None:
        more["/api/cost-diff"] = lambda q: costdiff_json(request, opened, q)
    app = Application(views, baseline_diff=None if diff is None else (lambda name: diff(name, views)), more=more)
    if standard:
        views.refresh()
    extra = [(str(path), {str(k): str(v) for k, v in query.items()}) for path, query in job.get("extra", [])]
    return prerender(app, window, extra=extra, baselines=names, standard=standard)


def main() -> int:
    try:
        job = json.loads(sys.stdin.read())
        write_bundle(run_job(job), Path(job["out"]))
    except KubetallyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ValueError as exc:  # a request that no longer validates (a file that went away)
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
