"""A real PostgreSQL for tests, on 127.0.0.1 and a free port, in its own temporary directory.

PostgreSQL refuses to run as root, so as root the cluster binaries run as the ``postgres``
system user (``runuser``) in a directory that user owns, outside pytest's 0700 tmp dirs.
A missing binary skips the test with a reason, except under ``KUBETALLY_REQUIRE_SERVICES=1``
(CI), where it fails. Facts used: ../shared/reference/prometheus-postgres-facts.md section 3.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from servers import REQUIRE, free_port


def postgres_bin() -> Path:
    """The newest ``/usr/lib/postgresql/*/bin``; skip (or fail under KUBETALLY_REQUIRE_SERVICES=1) if none."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        message = "PostgreSQL not installed (apt-get install postgresql, or `make services`)"
        if REQUIRE:
            pytest.fail(f"KUBETALLY_REQUIRE_SERVICES=1 but {message}")
        pytest.skip(message)
    return Path(found[-1]).parent


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    directory: Path

    def dsn(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{dbname}"


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres() -> Iterator[PostgresServer]:
    """initdb + start a throwaway cluster; stop it (immediate) and remove it afterwards."""
    bindir = postgres_bin()
    directory = Path(tempfile.mkdtemp(prefix="kubetally-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    directory.chmod(0o700)
    data, log, port = directory / "data", directory / "postgres.log", free_port()

    def run(*args: str) -> None:
        result = subprocess.run(_as_postgres(list(args)), capture_output=True, text=True, check=False, timeout=120)
        if result.returncode != 0:
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed: {result.stderr.strip()[-1500:]} {tail}")

    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {directory} -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=60 -c shared_buffers=128MB -c autovacuum=off"
    )
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync", "--no-instructions")  # fmt: skip
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start")
        try:
            yield PostgresServer("127.0.0.1", port, directory)
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    """By hand: ``PYTHONPATH=tests .venv/bin/python -m postgres_server [--audit-rows N --days D]``.

    Starts a throwaway server, optionally with an ``auditflow`` database holding ``audit_event``,
    prints its DSN and runs until interrupted (Ctrl-C or SIGTERM), then removes everything.
    """
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(prog="postgres_server", description=main.__doc__)
    parser.add_argument("--audit-rows", type=int, default=0, help="fill auditflow.public.audit_event with N rows")
    parser.add_argument("--days", type=int, default=365, help="spread them over the D days before 2026-12-01")
    parser.add_argument("--partitioned-months", type=int, default=0, help="monthly partitions instead of one table")
    parser.add_argument("--now", action="store_true", help="the D days before now() instead of before 2026-12-01")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with postgres() as server:
        dsn = server.dsn()
        if args.audit_rows:
            import psycopg

            sys.path.insert(0, str(Path(__file__).parent / "postgres"))
            from auditdb import make_audit_event

            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("CREATE DATABASE auditflow")
            make_audit_event(server.dsn("auditflow"), rows=args.audit_rows, days=args.days,
                             partitioned_months=args.partitioned_months,
                             **({"anchor": "now()"} if args.now else {}))  # fmt: skip
            dsn = server.dsn("auditflow")
        print(dsn, flush=True)
        with suppress(KeyboardInterrupt, SystemExit):
            signal.pause()


if __name__ == "__main__":
    main()
