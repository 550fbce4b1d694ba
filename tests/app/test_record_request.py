"""record's rules live on RecordRequest: a cluster is required, durations parse once, --out is a directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubetally.app.base import build
from kubetally.app.record import RecordRequest
from kubetally.errors import ConfigError


def refused(**values: object) -> str:
    with pytest.raises(ConfigError) as err:
        build(RecordRequest, **values)
    return str(err.value)


def test_a_cluster_and_durations(tmp_path: Path) -> None:
    out = tmp_path / "rec"
    assert refused(out=out) == "record needs a cluster: --kubeconfig FILE [--context NAME] or --in-cluster"
    assert refused(out=out, context="pi", in_cluster=True) == "--context needs --kubeconfig"
    assert refused(out=out, kubeconfig="kc", in_cluster=True) == (
        "give one Kubernetes source: --kubeconfig or --in-cluster, not 2"
    )
    assert refused(out=out, in_cluster=True, every="0s") == "--every '0s': duration '0s' must be longer than zero"
    assert refused(out=out, in_cluster=True, keep="30s").startswith("--keep 30: Input should be greater than or equal")
    request = build(RecordRequest, out=out, in_cluster=True, every="15s", duration="2h", objects_every="5m")
    assert (request.every, request.duration, request.objects_every, request.keep) == (15, 7200, 300, 14 * 86400)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert refused(out=a_file, in_cluster=True) == f"--out {a_file}: is a file, not a directory"
