"""PostgreSQL: connect (read-only by default), read the catalog and the storage statistics.

Uses psycopg 3. Every failure the user can act on is a :class:`SourceError` with one line
that names the server without its password.
"""

from __future__ import annotations

from kubetally.sources.postgres.catalog import ColumnInfo, Partition, TableInfo, partitions, table_info
from kubetally.sources.postgres.connect import connect, safe_dsn

__all__ = ["ColumnInfo", "Partition", "TableInfo", "connect", "partitions", "safe_dsn", "table_info"]
