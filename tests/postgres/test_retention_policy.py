"""The retention policy file: the issue's exact shape parses; every mistake is one line naming the field."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kubetally.errors import ConfigError
from kubetally.model.retention import parse_policy_text

EXAMPLE = """
tables:
  - table: auditflow.public.audit_event   # database.schema.table or schema.table
    time_column: created_at
    keep: 90d
    archive: {dir: /archive/audit_event, format: parquet, compression: zstd}   # omit archive to purge only
    batch_rows: 10000
"""


def test_the_issue_example_parses() -> None:
    rule = parse_policy_text(EXAMPLE).tables[0]
    assert (rule.database, rule.schema_name, rule.table_name) == ("auditflow", "public", "audit_event")
    assert rule.keep_delta == timedelta(days=90)
    assert rule.archive is not None and rule.archive.dir == "/archive/audit_event"
    assert rule.batch_rows == 10_000


def test_archive_omitted_means_purge_only_and_defaults() -> None:
    rule = parse_policy_text("tables:\n  - {table: public.t, time_column: ts, keep: 2w}\n").tables[0]
    assert rule.archive is None and rule.database is None and rule.batch_rows == 10_000
    assert rule.keep_delta == timedelta(days=14)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tables: []", "tables: Tuple should have at least 1 item"),
        ("tables:\n  - {table: t, time_column: ts, keep: 1d}", "tables.0.table: 't' is not database.schema.table"),
        ("tables:\n  - {table: a.b, time_column: ts, keep: 90}", "tables.0.keep: invalid keep '90'"),
        ("tables:\n  - {table: a.b, time_column: ts, keep: 0d}", "tables.0.keep: invalid keep '0d'"),
        ("tables:\n  - {table: a.b, time_column: 'x; drop', keep: 1d}", "tables.0.time_column: 'x; drop' is not"),
        ("tables:\n  - {table: a.b, time_column: ts, keep: 1d, batch_rows: 0}", "tables.0.batch_rows:"),
        ("tables:\n  - {table: a.b, time_column: ts, keep: 1d, archive: {dir: /a, format: csv}}",
         "tables.0.archive.format:"),
        ("tables:\n  - {table: a.b, time_column: ts, keep: 1d, kep: 2d}", "tables.0.kep: Extra inputs"),
        ("tables:\n  - {table: a.b, time_column: ts, keep: 1d}\n  - {table: x.a.b, time_column: ts, keep: 1d}",
         "table a.b appears twice"),
        ("- 1", "a retention policy is a YAML mapping"),
    ],
)  # fmt: skip
def test_bad_policies_are_one_line_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy_text(text, where="policy.yaml")
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(info.value).startswith("policy.yaml: ")
