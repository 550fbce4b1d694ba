"""What a table looks like: its columns, primary key and (for a partitioned table) its partitions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from kubetally.errors import SourceError

Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type_name: str
    """pg_type.typname (int8, timestamptz, jsonb ...)."""
    declared: str
    """format_type(): the type as written in DDL (character varying(40), numeric(10,2) ...)."""


@dataclass(frozen=True)
class TableInfo:
    schema: str
    name: str
    columns: tuple[ColumnInfo, ...]
    primary_key: tuple[str, ...]
    partitioned: bool
    partition_key: str
    """pg_get_partkeydef, e.g. ``RANGE (created_at)``; empty for an ordinary table."""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column(self, name: str) -> ColumnInfo | None:
        return next((col for col in self.columns if col.name == name), None)


@dataclass(frozen=True)
class Partition:
    schema: str
    name: str
    lower: datetime | None
    """Inclusive lower bound; None for MINVALUE or the DEFAULT partition."""
    upper: datetime | None
    """Exclusive upper bound; None for MAXVALUE or the DEFAULT partition."""
    default: bool

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def table_info(conn: Conn, schema: str, table: str) -> TableInfo:
    """The table's columns and primary key; a missing table or one without a primary key is an error."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
            (schema, table),
        )
        found = cur.fetchone()
        if found is None:
            raise SourceError(f"table {schema}.{table} does not exist (or is not a table)")
        oid, relkind = found
        cur.execute(
            "SELECT a.attname, t.typname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum",
            (oid,),
        )
        columns = tuple(ColumnInfo(str(n), str(t), str(d)) for n, t, d in cur.fetchall())
        cur.execute(
            "SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE i.indrelid = %s AND i.indisprimary ORDER BY k.ord",
            (oid,),
        )
        pk = tuple(str(row[0]) for row in cur.fetchall())
        key = ""
        if relkind == "p":
            cur.execute("SELECT pg_get_partkeydef(%s)", (oid,))
            key = str(cur.fetchone()[0])  # type: ignore[index]
    conn.commit()
    if not pk:
        raise SourceError(f"table {schema}.{table} has no primary key; retention needs one to verify each row")
    return TableInfo(schema, table, columns, pk, relkind == "p", key)


_BOUND = re.compile(r"^FOR VALUES FROM \((?P<lo>.*)\) TO \((?P<hi>.*)\)$")


def partitions(conn: Conn, info: TableInfo) -> list[Partition]:
    """The partitions of a range-partitioned table, oldest first, with their bounds as UTC times."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT n.nspname, c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE i.inhparent = %s::regclass",
            (f'"{info.schema}"."{info.name}"',),
        )
        rows = cur.fetchall()
        result = []
        for schema, name, bound in rows:
            if bound == "DEFAULT":
                result.append(Partition(str(schema), str(name), None, None, True))
                continue
            match = _BOUND.match(str(bound))
            if match is None:
                raise SourceError(f"partition {schema}.{name}: unsupported bound {bound!r} (range partitions only)")
            lo, hi = (_literal(cur, match.group(g)) for g in ("lo", "hi"))
            result.append(Partition(str(schema), str(name), lo, hi, False))
    conn.commit()
    epoch = datetime.min.replace(tzinfo=None)
    return sorted(result, key=lambda p: (p.default, (p.lower.replace(tzinfo=None) if p.lower else epoch)))


def _literal(cur: psycopg.Cursor[tuple[Any, ...]], text: str) -> datetime | None:
    text = text.strip()
    if text in ("MINVALUE", "MAXVALUE"):
        return None
    cur.execute("SELECT %s::timestamptz", (text.strip("'"),))
    value = cur.fetchone()[0]  # type: ignore[index]
    if not isinstance(value, datetime):
        raise SourceError(f"partition bound {text} is not a timestamp")
    return value
