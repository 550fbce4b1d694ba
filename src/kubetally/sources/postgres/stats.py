"""Storage statistics of a live database: sizes, dead tuples, a bloat estimate, rows by age.

Everything here reads catalog views and statistics a read-only role can see (``pg_database``,
``pg_stat_user_tables``, ``pg_class``, ``pg_stats``), plus one ``count(*) ... GROUP BY`` on the
time column for the age buckets of a table the user names.

The bloat estimate follows the idea of ioguix's pgsql-bloat-estimation (BSD licence): the pages a
table would need for its live rows at their average width (``pg_stats.avg_width``), with the
24-byte tuple header, the 4-byte line pointer, the 24-byte page header and the fillfactor,
against the pages it has. It is an estimate: it needs fresh statistics (ANALYZE) and ignores
alignment padding between columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from kubetally.errors import SourceError
from kubetally.sources.postgres.catalog import table_info

Conn = psycopg.Connection[tuple[Any, ...]]

AGE_EDGES_DAYS: tuple[int, ...] = (1, 7, 30, 90, 365)
"""Upper edges of the age buckets: < 1 d, 1-7 d, 7-30 d, 30-90 d, 90-365 d, and older."""

TUPLE_HEADER = 24
LINE_POINTER = 4
PAGE_HEADER = 24


@dataclass(frozen=True)
class DatabaseSize:
    name: str
    size_bytes: int


@dataclass(frozen=True)
class TableStats:
    database: str
    schema: str
    name: str
    table_bytes: int
    """The main fork with its free-space and visibility maps (pg_relation_size of each fork)."""
    toast_bytes: int
    index_bytes: int
    total_bytes: int
    live_rows: int
    dead_rows: int
    bloat_bytes: int | None
    """Estimated space the live rows do not need; None without statistics (run ANALYZE)."""
    last_vacuum: datetime | None
    """The later of the last manual and automatic VACUUM."""
    last_analyze: datetime | None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class AgeBucket:
    label: str
    older_than_days: int
    younger_than_days: int | None
    rows: int


@dataclass(frozen=True)
class AgeProfile:
    """Rows of one table by the age of its time column, measured at ``measured_at`` (the server's now())."""

    table: str
    time_column: str
    measured_at: datetime
    buckets: tuple[AgeBucket, ...]
    oldest: datetime | None
    newest: datetime | None

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.buckets)

    def rows_younger_than(self, days: int) -> int:
        return sum(b.rows for b in self.buckets if b.younger_than_days is not None and b.younger_than_days <= days)


def database_sizes(conn: Conn) -> list[DatabaseSize]:
    """Every database that accepts connections, largest first."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT datname, pg_database_size(oid) FROM pg_database WHERE datallowconn AND NOT datistemplate "
            "ORDER BY 2 DESC, 1"
        )
        rows = cur.fetchall()
    conn.commit()
    return [DatabaseSize(str(n), int(s)) for n, s in rows]


_TABLES = """
SELECT current_database(), s.schemaname, s.relname,
       pg_relation_size(c.oid) + pg_relation_size(c.oid, 'fsm') + pg_relation_size(c.oid, 'vm'),
       coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0),
       pg_indexes_size(c.oid), pg_total_relation_size(c.oid),
       s.n_live_tup, s.n_dead_tup,
       greatest(s.last_vacuum, s.last_autovacuum), greatest(s.last_analyze, s.last_autoanalyze),
       c.relpages, c.reltuples, current_setting('block_size')::int,
       coalesce((SELECT option_value::int FROM pg_options_to_table(c.reloptions)
                 WHERE option_name = 'fillfactor'), 100),
       (SELECT sum(st.avg_width) FROM pg_stats st WHERE st.schemaname = s.schemaname AND st.tablename = s.relname),
       (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
       (SELECT count(*) FROM pg_stats st WHERE st.schemaname = s.schemaname AND st.tablename = s.relname)
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
ORDER BY pg_total_relation_size(c.oid) DESC, s.schemaname, s.relname
"""


def bloat_estimate(
    *, relpages: int, reltuples: float, block_size: int, fillfactor: int, row_width: float | None
) -> int | None:
    """Bytes beyond what ``reltuples`` rows of ``row_width`` bytes of data need; None if unknown."""
    if row_width is None or reltuples < 0:
        return None
    tuple_bytes = TUPLE_HEADER + 8 * math.ceil(row_width / 8)  # data MAXALIGNed after the header
    usable = (block_size - PAGE_HEADER) * fillfactor / 100
    per_page = max(1, math.floor(usable / (tuple_bytes + LINE_POINTER)))
    needed = math.ceil(reltuples / per_page)
    return max(0, relpages - needed) * block_size


def table_stats(conn: Conn) -> list[TableStats]:
    """Every user table of the connected database, largest first."""
    with conn.cursor() as cur:
        cur.execute(_TABLES)
        rows = cur.fetchall()
    conn.commit()
    result = []
    for (db, schema, name, main, toast, index, total, live, dead, vacuumed, analyzed, relpages, reltuples, block,
         fill, width, ncols, nstats) in rows:  # fmt: skip
        complete = width is not None and int(nstats) >= int(ncols)
        bloat = bloat_estimate(
            relpages=int(relpages), reltuples=float(reltuples), block_size=int(block), fillfactor=int(fill),
            row_width=float(width) if complete else None,
        )  # fmt: skip
        result.append(
            TableStats(
                str(db),
                str(schema),
                str(name),
                int(main),
                int(toast),
                int(index),
                int(total),
                int(live or 0),
                int(dead or 0),
                bloat,
                vacuumed,
                analyzed,
            )
        )
    return result


def age_profile(
    conn: Conn, schema: str, table: str, column: str, *, edges: tuple[int, ...] = AGE_EDGES_DAYS
) -> AgeProfile:
    """Rows of ``schema.table`` by the age of ``column`` (a timestamp or date) in day buckets."""
    info = table_info(conn, schema, table)
    col = info.column(column)
    if col is None:
        raise SourceError(f"{schema}.{table} has no column {column!r}")
    if col.type_name not in ("timestamptz", "timestamp", "date"):
        raise SourceError(f"{schema}.{table}.{column} is {col.declared}, not a timestamp or date")
    value = (
        sql.Identifier(column)
        if col.type_name == "timestamptz"
        else sql.SQL("{}::timestamptz").format(sql.Identifier(column))
    )
    cases = sql.SQL(" ").join(
        sql.SQL("WHEN {v} > n.t - {d} * interval '1 day' THEN {i}").format(v=value, d=sql.Literal(d), i=sql.Literal(i))
        for i, d in enumerate(edges)
    )
    query = sql.SQL(
        "WITH n AS (SELECT now() AS t) SELECT n.t, CASE {cases} ELSE {last} END AS b, count(*), min({v}), max({v}) "
        "FROM {rel} x CROSS JOIN n GROUP BY n.t, b ORDER BY b"
    ).format(
        cases=cases, last=sql.Literal(len(edges)), v=value,
        rel=sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table)),
    )  # fmt: skip
    with conn.cursor() as cur:
        cur.execute(query)
        rows = cur.fetchall()
        if not rows:
            cur.execute("SELECT now()")
            measured = cur.fetchone()[0]  # type: ignore[index]
        else:
            measured = rows[0][0]
    conn.commit()
    counts = {int(b): int(n) for _t, b, n, _lo, _hi in rows}
    buckets = []
    lower = 0
    for i, edge in enumerate((*edges, None)):
        label = f"{lower}-{edge} d" if edge is not None else f"> {lower} d"
        if i == 0:
            label = f"< {edge} d"
        buckets.append(AgeBucket(label, lower, edge, counts.get(i, 0)))
        lower = edge if edge is not None else lower
    oldest = min((lo for *_x, lo, _hi in rows if lo is not None), default=None)
    newest = max((hi for *_x, hi in rows if hi is not None), default=None)
    return AgeProfile(f"{schema}.{table}", column, measured, tuple(buckets), oldest, newest)
