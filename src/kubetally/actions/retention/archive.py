"""Archive files: one Parquet file per batch, written to a ``.tmp`` name, fsynced, read back and verified.

A file's identity is its row count and a checksum over its primary keys (SHA-256 of the sorted
keys, one per line, columns joined by a unit separator). The same checksum is computed from the
rows read out of the database and from the file read back, so a file that verifies holds exactly
the keys that will be deleted. The table, key columns, row count and checksum are also stored in
the file's Parquet key-value metadata, so an archive directory explains itself.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kubetally.errors import RetentionError

# PostgreSQL type name -> Arrow type. Anything else is read as text (``col::text``) and stored as a string.
ARROW_TYPES: dict[str, pa.DataType] = {
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "float4": pa.float32(),
    "float8": pa.float64(),
    "bool": pa.bool_(),
    "text": pa.string(),
    "varchar": pa.string(),
    "bpchar": pa.string(),
    "name": pa.string(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "bytea": pa.binary(),
}


def native(type_name: str) -> bool:
    """True if psycopg's value for this type goes into Arrow as it is (else it is selected as text)."""
    return type_name in ARROW_TYPES


@dataclass(frozen=True)
class FileCheck:
    rows: int
    checksum: str


def pk_checksum(keys: Iterable[Sequence[Any]]) -> str:
    """SHA-256 over the sorted primary keys; order-independent, the same for the database rows and the file."""
    lines = sorted("\x1f".join(_text(v) for v in key) for key in keys)
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _text(value: Any) -> str:
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def write_verified(
    path: Path,
    *,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[Any]],
    pk: Sequence[str],
    compression: str,
    metadata: dict[str, str],
) -> FileCheck:
    """Write ``rows`` to ``path`` + ``.tmp``, fsync, read it back and check count and key checksum.

    Returns the verified count and checksum; the caller renames the ``.tmp`` file into place
    (:func:`promote`) once the batch is journaled. A full disk or any write error removes the
    partial file and raises :class:`RetentionError`.
    """
    names = [name for name, _ in columns]
    index = [names.index(k) for k in pk]
    expected = FileCheck(len(rows), pk_checksum([row[i] for i in index] for row in rows))
    schema = pa.schema(
        [pa.field(name, ARROW_TYPES.get(type_name, pa.string())) for name, type_name in columns],
        metadata={
            **metadata,
            "kubetally.primary_key": json.dumps(list(pk)),
            "kubetally.pg_types": json.dumps(dict(columns)),
            "kubetally.rows": str(expected.rows),
            "kubetally.pk_checksum": expected.checksum,
        },
    )
    arrays = [pa.array([row[i] for row in rows], type=schema.field(i).type) for i in range(len(names))]
    table = pa.Table.from_arrays(arrays, schema=schema)
    tmp = temp_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tmp.open("wb") as handle:
            pq.write_table(table, handle, compression=None if compression == "none" else compression)
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(path.parent)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise RetentionError(
                f"archive disk full writing {tmp}: nothing was deleted; free space and run again"
            ) from None
        raise RetentionError(f"cannot write archive file {tmp}: {exc.strerror}; nothing was deleted") from None
    got = read_check(tmp, pk)
    if got != expected:
        tmp.unlink(missing_ok=True)
        raise RetentionError(
            f"archive file {tmp} does not verify (rows {got.rows} of {expected.rows}); nothing deleted"
        )
    return expected


def read_check(path: Path, pk: Sequence[str]) -> FileCheck:
    """Row count and key checksum of a Parquet file, read back from disk."""
    try:
        table = pq.read_table(path, columns=list(pk))
    except (OSError, pa.ArrowException) as exc:
        raise RetentionError(f"archive file {path} cannot be read: {exc}".splitlines()[0]) from None
    keys = zip(*(table.column(k).to_pylist() for k in pk), strict=True)
    return FileCheck(table.num_rows, pk_checksum(keys))


def temp_path(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def promote(path: Path) -> None:
    """Rename ``path.tmp`` to ``path`` (if not done already) and fsync the directory."""
    tmp = temp_path(path)
    if tmp.exists():
        tmp.replace(path)
        _fsync_dir(path.parent)


def verified_file(path: Path, pk: Sequence[str], expected: FileCheck) -> None:
    """Raise unless ``path`` (or its ``.tmp`` still waiting to be promoted) holds exactly ``expected``."""
    promote(path)
    if not path.exists():
        raise RetentionError(f"archive file {path} is missing; its rows were kept in the table")
    got = read_check(path, pk)
    if got != expected:
        raise RetentionError(
            f"archive file {path} does not verify ({got.rows} rows, checksum {got.checksum[:12]}; "
            f"journal says {expected.rows}, {expected.checksum[:12]}); its rows were kept in the table"
        )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
