"""Dataset save/load: round trip, determinism, and clear errors for bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from kubetally.dataset import Dataset, DatasetInfo, MissingFamily, load, save
from kubetally.errors import DatasetError
from kubetally.model import columns as c
from kubetally.model import schema
from kubetally.simulate import ScenarioConfig, simulate

SMALL = ScenarioConfig(days=1, step_seconds=300)


@pytest.fixture(scope="module")
def small() -> Dataset:
    return simulate(SMALL)


def test_round_trip_equals(small: Dataset, tmp_path: Path) -> None:
    loaded = load(save(small, tmp_path / "ds"))
    assert loaded.info == small.info
    assert loaded.equals(small)
    assert loaded.counts() == small.counts()
    # usage_hourly is made from usage on request (kubetally.model.hourly), not by the simulator
    assert all(n > 0 for name, n in small.counts().items() if name != "usage_hourly"), small.counts()


def test_hourly_summaries_round_trip(small: Dataset, tmp_path: Path) -> None:
    """usage_hourly (list columns) is saved and loaded like every frame; a v2 dataset reads it as empty."""
    from kubetally.model.hourly import from_usage

    with_hourly = small.with_frames(usage_hourly=from_usage(small.usage))
    loaded = load(save(with_hourly, tmp_path / "ds"))
    assert loaded.equals(with_hourly)
    assert loaded.counts()["usage_hourly"] == with_hourly.counts()["usage_hourly"] > 0
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    manifest["schema_version"] = 2
    (tmp_path / "ds" / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "ds" / "usage_hourly.parquet").unlink()
    old = load(tmp_path / "ds")
    assert old.counts()["usage_hourly"] == 0 and not any("usage_hourly" in n for n in old.info.notes)


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first = save(simulate(SMALL), tmp_path / "a")
    second = save(simulate(SMALL), tmp_path / "b")
    for spec in schema.FRAMES:
        name = f"{spec.name}.parquet"
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    other = simulate(SMALL.model_copy(update={"seed": 8}))
    assert not other.equals(simulate(SMALL))


def test_spilled_simulation_equals_in_memory(tmp_path: Path) -> None:
    spilled = simulate(SMALL, spill_dir=tmp_path)
    assert spilled.equals(simulate(SMALL))


def test_missing_directory() -> None:
    with pytest.raises(DatasetError, match="no such dataset directory"):
        load(Path("/nonexistent/kubetally"))


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"no manifest\.json"):
        load(tmp_path)


def test_newer_schema_is_refused(small: Dataset, tmp_path: Path) -> None:
    target = save(small, tmp_path / "ds")
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["schema_version"] = schema.SCHEMA_VERSION + 1
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DatasetError, match="newer than this kubetally supports"):
        load(target)


def test_missing_families_round_trip_and_old_manifests_load(small: Dataset, tmp_path: Path) -> None:
    gone = MissingFamily("kube_pod_labels", "no allowlist", "no pod labels")
    info = DatasetInfo(**{**small.info.__dict__, "missing": (gone,)})
    target = save(Dataset.create(info, **{s.name: small.frame(s) for s in schema.FRAMES}), tmp_path / "ds")
    assert load(target).info.missing == (gone,)
    manifest = json.loads((target / "manifest.json").read_text())
    del manifest["missing"]  # a manifest written before the field existed
    (target / "manifest.json").write_text(json.dumps(manifest))
    assert load(target).info.missing == ()


def test_corrupt_manifest(small: Dataset, tmp_path: Path) -> None:
    target = save(small, tmp_path / "ds")
    (target / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="unreadable manifest"):
        load(target)


def test_frame_with_wrong_column_type(small: Dataset, tmp_path: Path) -> None:
    target = save(small, tmp_path / "ds")
    nodes = pl.read_parquet(target / "nodes.parquet").with_columns(pl.col(c.CPU_CAPACITY_CORES).cast(pl.String))
    nodes.write_parquet(target / "nodes.parquet")
    with pytest.raises(DatasetError, match="cpu_capacity_cores"):
        load(target)


def test_missing_frame_file(small: Dataset, tmp_path: Path) -> None:
    target = save(small, tmp_path / "ds")
    (target / "usage.parquet").unlink()
    with pytest.raises(DatasetError, match=r"usage\.parquet is missing"):
        load(target)


def test_save_refuses_to_replace_a_foreign_directory(small: Dataset, tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious")
    with pytest.raises(DatasetError, match="not a kubetally dataset"):
        save(small, tmp_path / "mine", overwrite=True)
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "precious"


def test_create_rejects_missing_columns() -> None:
    info = DatasetInfo("test", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), 60)
    with pytest.raises(DatasetError, match="lacks column"):
        Dataset.create(info, nodes=pl.DataFrame({c.NODE: ["a"]}))
    with pytest.raises(DatasetError, match="unknown frame"):
        Dataset.create(info, pods=pl.DataFrame())


def test_dataset_doc_is_current() -> None:
    import importlib.util

    root = Path(__file__).parents[2]
    spec = importlib.util.spec_from_file_location("gen_dataset_doc", root / "scripts" / "gen_dataset_doc.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (root / "docs" / "dataset.md").read_text() == module.render(), "run scripts/gen_dataset_doc.py"


V2_COLUMNS = {
    "objects": (
        c.OWNER_KIND,
        c.OWNER_NAME,
        c.TYPE,
        c.SELECTOR,
        c.REPLICAS,
        c.REVISION,
        c.TTL_SECONDS_AFTER_FINISHED,
    ),
    "references": (c.PATH,),
}


def test_schema_v1_dataset_loads_with_defaults_and_a_note(small: Dataset, tmp_path: Path) -> None:
    """A v1 dataset (no v2 columns, no annotations/log_settings frames) loads; the gaps are named in a note."""
    target = save(small, tmp_path / "ds")
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["schema_version"] = 1
    (target / "manifest.json").write_text(json.dumps(manifest))
    for frame, dropped in V2_COLUMNS.items():
        pl.read_parquet(target / f"{frame}.parquet").drop(dropped).write_parquet(target / f"{frame}.parquet")
    (target / "annotations.parquet").unlink()
    (target / "log_settings.parquet").unlink()
    loaded = load(target)
    assert loaded.info.schema_version == schema.SCHEMA_VERSION
    note = loaded.info.notes[-1]
    assert note.startswith("dataset schema v1 read as v3"), note
    assert "references.path" in note and "objects.ttl_seconds_after_finished" in note and "annotations (absent)" in note
    refs = loaded.table(schema.REFERENCES)
    assert refs.height == small.table(schema.REFERENCES).height
    assert set(refs[c.PATH]) == {""}
    assert loaded.table(schema.OBJECTS)[c.REVISION].null_count() == loaded.table(schema.OBJECTS).height
    assert loaded.table(schema.ANNOTATIONS).is_empty()
