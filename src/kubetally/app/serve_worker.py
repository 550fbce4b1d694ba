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
import sys
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


def scale_request(request: ServeRequest) -> Any:
    """The ``kubetally scale`` request for serve's source and prices (its other options at their defaults)."""
    from kubetally.app.scale import ScaleRequest

    given = request.model_dump()
    return ScaleRequest.model_validate({k: given[k] for k in ScaleRequest.model_fields if k in given})


def run_job(job: dict[str, Any]) -> Bundle:
    from kubetally.outputs.registry import render

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

    def scale_json() -> bytes:
        from kubetally.app.scale import scale

        return str(render(scale(scale_request(request), opened), "json")).encode()

    views = Views(overview, ExpositionSettings(max_workloads=request.max_workloads,
                                               max_containers=request.max_containers))  # fmt: skip
    standard = bool(job.get("standard", True))
    names, diff = _baseline_names(request.store) if window is None and standard else ([], None)
    app = Application(views, baseline_diff=None if diff is None else (lambda name: diff(name, views)),
                      more={"/api/scale": scale_json})  # fmt: skip
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
