"""Write docs/dataset.md from kubetally.model.schema (a test checks it is current).

Run: .venv/bin/python scripts/gen_dataset_doc.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from kubetally.model.schema import FRAMES, SCHEMA_VERSION, TIME

INTRO = f"""# The Dataset (schema version {SCHEMA_VERSION})

Every source (the simulator, Prometheus, ...) produces these frames and every analysis reads
only them. A dataset is saved as a directory: one Parquet file per frame plus `manifest.json`:

```json
{{
  "format": "kubetally-dataset",
  "schema_version": {SCHEMA_VERSION},
  "source": "simulator:auditflow",
  "start": "2026-10-19T00:00:00+00:00",
  "end": "2026-11-02T00:00:00+00:00",
  "step_seconds": 60,
  "notes": [],
  "missing": []
}}
```

`notes` lists degradations the source noticed (for example "pod labels absent: kube-state-metrics
exports no `kube_pod_labels`"). `missing` (Prometheus source) lists the metric families the
collector looked for and did not find, each as `{{"family", "why", "cost"}}`: why it is probably
absent (exporter version, a resource not enabled) and what the analyses lose; a manifest without
it (older datasets, other sources) reads as nothing missing. `inputs` (optional, absent above) holds the
configuration the dataset's figures were made with, as `{{"owners": "<YAML text>", "allocation": ...}}`
(names: `prices`, `owners`, `allocation`, `policy`): `kubetally demo` records its owners and allocation
files there, and a command reading the dataset uses them unless its own `--owners`/`--allocation` is
given, so `kubetally showback -d out/demo/dataset` prints the demo's figures. Loading a dataset with a newer schema version, a missing frame
file or a column of the wrong type fails with one line naming the problem.

Conventions: column names carry their unit (`_cores`, `_bytes`, `_bytes_per_second`, `_ratio`);
every timestamp is `{TIME}` (microseconds, UTC); a time-series row stands for the step that starts
at its timestamp; unknown values are null, never 0 and never NaN. Frames marked *series* are read
lazily (scanned from Parquet) so that long, large histories need not fit in memory.

This page is generated from `src/kubetally/model/schema.py` by `scripts/gen_dataset_doc.py`.
"""


def render() -> str:
    parts = [INTRO]
    for spec in FRAMES:
        kind = "series" if spec.series else "table"
        parts.append(f"\n## `{spec.name}` ({kind})\n\n{spec.description}\n\nKey: `{', '.join(spec.key)}`.\n")
        parts.append("\n| column | type | null | meaning |\n|---|---|---|---|\n")
        for col in spec.columns:
            dtype = "timestamp (UTC)" if col.dtype == TIME else str(col.dtype).lower()
            parts.append(f"| `{col.name}` | {dtype} | {'yes' if col.nullable else ''} | {col.description} |\n")
    return "".join(parts)


if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / "docs" / "dataset.md"
    target.write_text(render())
    sys.stdout.write(f"wrote {target}\n")
