"""Where a use case writes: the rules for an output directory or file, checked by the request models before
any long work (a simulation, a two-week collection) so a bad ``--out`` fails in the first second.

``-o/--output`` always names a format; a directory is ``--out``. A ``--out`` spelled like a format name
(``--out json``) is refused rather than silently becoming a directory called ``json``.
"""

from __future__ import annotations

from pathlib import Path

from kubetally.dataset import MANIFEST
from kubetally.outputs.registry import FORMAT_HELP


def not_a_format(flag: str, path: Path) -> None:
    """Refuse a bare format name (``json``, ``table``...) given where a directory is expected."""
    if str(path) in FORMAT_HELP and not path.exists():
        raise ValueError(
            f"{flag} {path}: names a directory to write, and '{path}' is an output format; "
            f"to write a directory called {path}, give ./{path}"
        )


def check_directory(flag: str, path: Path) -> None:
    """Refuse a directory that names a file, or a path under a file."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"{flag} {path}: is a file, not a directory")
    check_parents(flag, path)


def check_parents(flag: str, path: Path) -> None:
    """Refuse a path under a file (its nearest existing parent must be a directory)."""
    for part in path.parents:
        if part.exists():
            if not part.is_dir():
                raise ValueError(f"{flag} {path}: {part} is a file, not a directory")
            return


def check_file(flag: str, path: Path, *, overwrite: bool) -> None:
    """Refuse a file target that is a directory, lies under a file, or exists (unless ``overwrite``)."""
    if path.is_dir():
        raise ValueError(f"{flag} {path}: is a directory; give a file path")
    if path.exists() and not overwrite:
        raise ValueError(f"{flag} {path} already exists: choose another file, or replace it with --overwrite")
    check_directory(flag, path.parent)


def check_dataset_target(flag: str, path: Path, *, overwrite: bool) -> None:
    """Refuse a dataset directory that saving would refuse at the end: under a file, existing without
    ``overwrite``, or existing and not a kubetally dataset (never replaced)."""
    not_a_format(flag, path)
    check_parents(flag, path)
    if path.exists():
        if not path.is_dir():
            raise ValueError(f"{flag} {path}: is a file, not a directory")
        if not overwrite:
            raise ValueError(f"{flag} {path} already exists: choose another directory, or replace it with --overwrite")
        if not (path / MANIFEST).exists():
            raise ValueError(f"{flag} {path} exists and is not a kubetally dataset; refusing to replace it")
