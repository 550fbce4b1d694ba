"""collect's rules live on CollectRequest: a bad combination or target fails there, before any query or save."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubetally.app.base import build
from kubetally.app.collect import CollectRequest
from kubetally.errors import ConfigError
from kubetally.simulate import ScenarioConfig, simulate

URL = "http://127.0.0.1:1"  # never reached: every request here is refused while it is validated


def refused(**values: object) -> str:
    with pytest.raises(ConfigError) as err:
        build(CollectRequest, **values)
    return str(err.value)


def test_sources(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    assert refused(out=out).startswith("give a source: --prometheus URL (history)")
    assert refused(out=out, kubeconfig="kc", in_cluster=True) == (
        "give one Kubernetes source: --kubeconfig or --in-cluster, not 2"
    )
    assert refused(out=out, context="x", kube_dump=["d.json"]) == "--context needs --kubeconfig"
    assert refused(out=out, kube_dump=["d.json"], labels_from="l.json") == (
        "--labels-from is a Prometheus setting: give --prometheus URL too"
    )
    assert refused(out=out, prometheus=URL, cluster=["a"]) == (
        "--cluster needs --cluster-label (the label that names the cluster)"
    )
    assert refused(out=out, prometheus=URL, cluster_label="x y") == (
        "--cluster-label 'x y': invalid Prometheus label name 'x y'"
    )
    assert refused(out=out, prometheus=URL, labels_from=str(tmp_path / "missing")) == (
        f"--labels-from {tmp_path / 'missing'}: no such file"
    )
    both = build(CollectRequest, out=out, prometheus=URL, kube_dump=["d.json"])  # objects over Prometheus' history
    assert both.kube_dump == (Path("d.json"),) and both.prometheus == URL


def test_durations_bounds_and_defaults(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    request = build(CollectRequest, out=out, prometheus=URL, window="2d", step="5m", rate_window="90s")
    assert (request.window, request.step, request.rate_window) == (172_800, 300, 90)
    default = build(CollectRequest, out=out, prometheus=URL)
    assert (default.window, default.step, default.timeout, default.page_size) == (14 * 86400, 60, 60.0, 500)
    assert refused(out=out, prometheus=URL, window="1x").startswith("--window '1x': invalid duration '1x'")
    assert refused(out=out, prometheus=URL, window="30s") == "--window 30: Input should be greater than or equal to 60"
    assert refused(out=out, prometheus=URL, max_points=20_000).startswith("--max-points 20000: Input should be less")
    assert refused(out=out, prometheus=URL, timeout=0).startswith("--timeout 0: Input should be greater than 0")


def test_out_is_a_directory_never_a_format(tmp_path: Path) -> None:
    assert refused(prometheus=URL) == "missing --out (required)"
    assert refused(out=Path("json"), prometheus=URL).startswith("--out json: names a directory to write, and 'json'")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert refused(out=a_file / "ds", prometheus=URL) == f"--out {a_file / 'ds'}: {a_file} is a file, not a directory"
    assert refused(out=a_file, prometheus=URL) == f"--out {a_file}: is a file, not a directory"
    mine = tmp_path / "mine"
    mine.mkdir()
    assert refused(out=mine, prometheus=URL, overwrite=True) == (
        f"--out {mine} exists and is not a kubetally dataset; refusing to replace it"
    )


def test_an_existing_dataset_needs_overwrite(tmp_path: Path) -> None:
    from kubetally.dataset import save

    ds = save(simulate(ScenarioConfig(days=0.02, step_seconds=600)), tmp_path / "ds")
    assert refused(out=ds, prometheus=URL) == (
        f"--out {ds} already exists: choose another directory, or replace it with --overwrite"
    )
    assert build(CollectRequest, out=ds, prometheus=URL, overwrite=True).overwrite
