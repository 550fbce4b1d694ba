"""`kubetally retention plan|run|restore|cronjob` against a real PostgreSQL, as a user types them.

The table's rows are ``g * 0.1`` days old (g = 1..2000, anchored at the fill's ``now()``), so with
``keep: 90d`` exactly the rows g = 900..2000 (1,101 rows) are older than the cutoff a moment later.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import duckdb
import kubernetes_validate
import psycopg
import pytest
from auditdb import archive_rows, make_audit_event, table_rows
from ruamel.yaml import YAML

from clirun import cli
from kubetally.model.retention import parse_policy_text

pytestmark = pytest.mark.services

OLD = 1101


@pytest.fixture
def audit(pg_dsn: str, tmp_path: Path) -> tuple[str, Path, Path]:
    """(DSN, policy file, archive dir) over a 2,000-row audit_event spanning 200 days before now."""
    make_audit_event(pg_dsn, rows=2000, days=200, anchor="now()")
    archive = tmp_path / "archive"
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "tables:\n  - table: public.audit_event\n    time_column: created_at\n    keep: 90d\n"
        f"    archive: {{dir: {archive}, format: parquet, compression: zstd}}\n    batch_rows: 500\n"
    )
    return pg_dsn, policy, archive


def _count(dsn: str, where: str = "true") -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM audit_event WHERE {where}").fetchone()
    assert row is not None
    return int(row[0])


def test_plan_lists_the_batches_and_writes_nothing(
    audit: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn, policy, archive = audit
    code, out, _err = cli(capsys, monkeypatch, "retention", "plan", "--dsn", dsn, "--policy", str(policy), "-o", "json")
    assert code == 0
    batches = json.loads(out)
    assert [b["rows"] for b in batches] == [500, 500, 101]
    assert [b["batch"] for b in batches] == [1, 2, 3]
    assert {b["action"] for b in batches} == {"archive+delete"}
    assert all(b["bytes"] > 0 for b in batches)
    assert batches[0]["time_from"] < batches[0]["time_to"] <= batches[1]["time_from"]
    code, out, err = cli(capsys, monkeypatch, "retention", "plan", "--dsn", dsn, "--policy", str(policy))
    assert code == 0 and "1,101" in out and "nothing written" in err
    assert _count(dsn) == 2000 and not archive.exists()


def test_run_is_a_dry_run_without_yes(
    audit: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn, policy, archive = audit
    code, out, err = cli(capsys, monkeypatch, "retention", "run", "--dsn", dsn, "--policy", str(policy))
    assert code == 0 and "dry run" in err and "1,101" in out
    assert _count(dsn) == 2000 and not archive.exists()
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass('kubetally_retention_journal')").fetchone() == (None,)


def test_run_yes_archives_deletes_and_duckdb_reads_the_archive(
    audit: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn, policy, archive = audit
    before = {r[0]: r for r in table_rows(dsn)}
    monkeypatch.setenv("KUBETALLY_DSN", dsn)  # the CronJob's way of passing the DSN
    code, out, _err = cli(capsys, monkeypatch, "retention", "run", "--policy", str(policy), "--yes", "--vacuum")
    assert code == 0, out
    assert "1,101 rows older than" in out and "3 files" in out and "after VACUUM" in out
    assert _count(dsn) == 2000 - OLD
    assert _count(dsn, "created_at < now() - interval '90 days'") == 0
    files = sorted(archive.glob("*.parquet"))
    assert [p.name for p in files] == [f"audit_event-00000{i}.parquet" for i in (1, 2, 3)]
    # ordinary Parquet: DuckDB reads the archive without kubetally (jsonb was archived as its text)
    got = duckdb.sql(
        f"SELECT id, tenant, event_type, payload FROM read_parquet('{archive}/*.parquet') ORDER BY id"
    ).fetchall()
    assert len(got) == OLD and [r[0] for r in got] == list(range(900, 2001))
    assert all((r[1], r[2], r[3]) == before[r[0]][2:] for r in got)
    assert duckdb.sql(f"SELECT compression FROM parquet_metadata('{files[0]}')").fetchall()[0] == ("ZSTD",)
    # a second run finds nothing to do
    code, out, _err = cli(capsys, monkeypatch, "retention", "run", "--policy", str(policy), "--yes")
    assert code == 0 and "0 rows older than" in out


def test_restore_dry_run_then_yes_then_nothing_twice(
    audit: tuple[str, Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn, policy, archive = audit
    original = set(table_rows(dsn))
    assert cli(capsys, monkeypatch, "retention", "run", "--dsn", dsn, "--policy", str(policy), "--yes")[0] == 0
    restore = ("retention", "restore", "--dsn", dsn, "--archive", str(archive), "--table", "public.audit_event")
    code, out, _err = cli(capsys, monkeypatch, *restore)
    assert code == 0 and f"dry run: {OLD:,} rows in 3 verified files, 0 already" in out
    assert _count(dsn) == 2000 - OLD
    # the table as the policy names it (database.schema.table) finds the same files; another database is refused
    database = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    by_policy_name = (*restore[:-1], f"{database}.public.audit_event")
    code, out, _err = cli(capsys, monkeypatch, *by_policy_name)
    assert code == 0 and f"dry run: {OLD:,} rows in 3 verified files, 0 already" in out
    code, _out, err = cli(capsys, monkeypatch, *restore[:-1], "elsewhere.public.audit_event")
    assert code == 2 and f"--dsn connects to database '{database}'" in err
    # a window: rows 150..160 days old are g = 1500..1599 (100 rows), as times in the archive
    times = duckdb.sql(
        f"SELECT created_at FROM read_parquet('{archive}/*.parquet') WHERE id BETWEEN 1500 AND 1599 ORDER BY 1"
    ).fetchall()
    start, end = times[0][0].isoformat(), times[-1][0].isoformat()
    code, out, _err = cli(capsys, monkeypatch, *restore, "--from", start, "--to", end, "--yes")
    assert code == 0 and "99 rows restored" in out  # --to is exclusive: the newest of the 100 stays out
    code, out, _err = cli(capsys, monkeypatch, *restore, "--yes")
    assert code == 0 and f"{OLD - 99:,} rows restored" in out and "99 already present were skipped" in out
    assert set(table_rows(dsn)) == original
    code, out, _err = cli(capsys, monkeypatch, *restore, "--yes")
    assert code == 0 and "0 rows restored" in out and f"{OLD:,} already present" in out
    # the next run deletes the restored rows again without archiving them twice
    code, out, _err = cli(capsys, monkeypatch, "retention", "run", "--dsn", dsn, "--policy", str(policy), "--yes")
    assert code == 0 and f"{OLD:,} rows older than" in out and "0 archived" in out
    assert _count(dsn) == 2000 - OLD and len(list(archive.glob("*.parquet"))) == 3
    archived = Counter(archive_rows(archive))
    assert max(archived.values()) == 1 and set(archived) | set(table_rows(dsn)) == original


def test_cronjob_is_valid_kubernetes_and_carries_the_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.yaml"
    text = (
        "tables:\n  - table: auditflow.public.audit_event\n    time_column: created_at\n    keep: 90d\n"
        "    archive: {dir: /archive/audit_event, format: parquet, compression: zstd}\n    batch_rows: 10000\n"
    )
    policy.write_text(text)
    base = ("retention", "cronjob", "--policy", str(policy), "--image", "registry.example/kubetally:0.1.0")
    code, _out, err = cli(capsys, monkeypatch, *base)
    assert code == 2 and "--archive-claim" in err and "Traceback" not in err
    code, out, _err = cli(capsys, monkeypatch, *base, "-n", "auditflow", "--archive-claim", "retention-archive",
                          "--vacuum")  # fmt: skip
    assert code == 0
    config_map, cronjob = list(YAML(typ="safe").load_all(out))
    for obj in (config_map, cronjob):
        kubernetes_validate.validate(obj, "1.32", strict=True)
    assert parse_policy_text(config_map["data"]["policy.yaml"]) == parse_policy_text(text)
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid" and spec["schedule"] == "30 2 * * *"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["args"] == ["retention", "run", "--policy", "/etc/kubetally/policy.yaml", "--yes", "--vacuum"]
    assert container["env"] == [
        {"name": "KUBETALLY_DSN", "valueFrom": {"secretKeyRef": {"name": "kubetally-retention-dsn", "key": "dsn"}}}
    ]
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert claims == ["retention-archive"]
    code, _out, err = cli(capsys, monkeypatch, *base, "--archive-claim", "a", "--archive-mount", "/data")
    assert code == 2 and "outside --archive-mount /data" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--dsn", "postgresql://nobody@127.0.0.1:1/x"), "cannot connect to PostgreSQL at postgresql://nobody@127.0.0.1:1/x"),
        (("--dsn", "postgresql://u:secret@127.0.0.1:1/x"), "postgresql://u@127.0.0.1:1/x"),
        (("--table", "public.nope"), "--table public.nope: not in"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(
    audit: tuple[str, Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    dsn, policy, _archive = audit
    full = ("retention", "plan", "--policy", str(policy), *(args if "--dsn" in args else ("--dsn", dsn, *args)))
    code, out, err = cli(capsys, monkeypatch, *full)
    assert code == 2 and message in " ".join(err.split()), err
    assert "secret" not in err and "Traceback" not in err and out == ""
