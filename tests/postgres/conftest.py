"""One real PostgreSQL per test session; a fresh database per test (see tests/postgres_server.py)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from itertools import count
from pathlib import Path

import pytest

for _path in (Path(__file__).parent, Path(__file__).parents[1]):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import psycopg  # noqa: E402

from postgres_server import PostgresServer, postgres  # noqa: E402

_numbers = count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    with postgres() as server:
        yield server


@pytest.fixture
def pg_dsn(pg_server: PostgresServer) -> Iterator[str]:
    """A DSN of an empty database of its own, dropped after the test."""
    name = f"t{next(_numbers)}"
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield pg_server.dsn(name)
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")
