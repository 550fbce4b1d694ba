"""The VictoriaMetrics JSON-lines writer: the same samples as the OpenMetrics text, labels once per series."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from pathlib import Path

import httpx
import polars as pl
import pytest
from expo_dataset import dataset
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from kubetally.simulate.exposition import write_openmetrics, write_vm_jsonl
from kubetally.simulate.exposition._text import SERIES, Family, Spool, T, V, render_labels
from servers import victoria_metrics

Key = tuple[str, tuple[tuple[str, str], ...]]


def _from_text() -> dict[Key, list[tuple[int, float]]]:
    out = io.StringIO()
    write_openmetrics(dataset(), out)
    got: dict[Key, list[tuple[int, float]]] = defaultdict(list)
    for family in text_string_to_metric_families(out.getvalue()):
        for s in family.samples:
            assert s.timestamp is not None
            got[(s.name, tuple(sorted(s.labels.items())))].append((int(float(s.timestamp)) * 1000, s.value))
    return got


def _from_jsonl(text: str) -> dict[Key, list[tuple[int, float]]]:
    got: dict[Key, list[tuple[int, float]]] = defaultdict(list)
    for line in text.splitlines():
        row = json.loads(line)
        labels = dict(row["metric"])
        name = labels.pop("__name__")
        assert len(row["values"]) == len(row["timestamps"])
        got[(name, tuple(sorted(labels.items())))].extend(zip(row["timestamps"], row["values"], strict=True))
    return got


def test_jsonl_holds_exactly_the_samples_of_the_text() -> None:
    out = io.BytesIO()
    stats = write_vm_jsonl(dataset(), out)
    jsonl = _from_jsonl(out.getvalue().decode())
    text = _from_text()
    assert jsonl == text
    assert stats.samples == sum(len(v) for v in text.values())


def test_escaped_label_values_become_json_strings(tmp_path: Path) -> None:
    # Hand-made: a value with a quote, a backslash, a newline and '",k="' must stay one label value.
    tricky = 'a"b\\c\nd,x="y'
    labels = render_labels({"namespace": "ns", "weird": tricky})
    frame = pl.DataFrame({SERIES: [labels, labels, ""], T: [120, 60, 60], V: [2.0, 1.5, 7.0]})
    spool = Spool(tmp_path, "vm-jsonl")
    spool.write(Family("demo_bytes", "gauge", "demo"), frame)
    out = io.BytesIO()
    stats = spool.finish(out)
    rows = [json.loads(line) for line in out.getvalue().decode().splitlines()]
    assert rows == [
        {"metric": {"__name__": "demo_bytes"}, "values": [7.0], "timestamps": [60_000]},
        {"metric": {"__name__": "demo_bytes", "namespace": "ns", "weird": tricky},
         "values": [1.5, 2.0], "timestamps": [60_000, 120_000]},
    ]  # fmt: skip
    assert (stats.series, stats.samples) == (2, 3)


def test_victoria_metrics_imports_the_jsonl(tmp_path: Path) -> None:
    out = tmp_path / "h.jsonl"
    with open(out, "wb") as handle:
        stats = write_vm_jsonl(dataset(), handle)
    with victoria_metrics(tmp_path / "vm", out, import_path="/api/v1/import") as url:
        exported = httpx.get(f"{url}/api/v1/export", params={"match[]": '{__name__=~".+"}'}, timeout=60).text
    got = _from_jsonl(exported)
    want = _from_text()
    assert sum(len(v) for v in got.values()) == stats.samples
    assert got.keys() == want.keys()
    for key, samples in want.items():  # VictoriaMetrics stores ~12 significant digits
        assert [t for t, _ in got[key]] == [t for t, _ in samples]
        assert [v for _, v in got[key]] == pytest.approx([v for _, v in samples], rel=1e-9, abs=1e-9)
