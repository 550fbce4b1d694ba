"""Opening a connection: one-line errors, the password never printed."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import conninfo

from kubetally.errors import SourceError

APPLICATION = "kubetally"


def safe_dsn(dsn: str) -> str:
    """``dsn`` with any password replaced by ``***`` (for messages)."""
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "(unparseable DSN)"
    if "password" in params:
        params["password"] = "***"
    host, port, db = params.get("host", "localhost"), params.get("port", "5432"), params.get("dbname", "")
    user = str(params.get("user", ""))
    return f"postgresql://{user + '@' if user else ''}{host}:{port}/{db}"


def connect(
    dsn: str, *, read_only: bool = True, database: str | None = None, application: str = APPLICATION
) -> psycopg.Connection[tuple[Any, ...]]:
    """A connection to ``dsn`` (or to ``database`` on the same server); read-only unless ``read_only=False``."""
    try:
        if database is not None:
            dsn = conninfo.make_conninfo(dsn, dbname=database)
        conn = psycopg.connect(dsn, application_name=application, connect_timeout=10, autocommit=False)
    except psycopg.ProgrammingError as exc:
        raise SourceError(f"--dsn: invalid connection string: {str(exc).splitlines()[0]}") from None
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())[:300]
        raise SourceError(f"cannot connect to PostgreSQL at {safe_dsn(dsn)}: {reason}") from None
    conn.read_only = read_only
    with conn.cursor() as cur:
        cur.execute("SET TIME ZONE 'UTC'")
    conn.commit()
    return conn
