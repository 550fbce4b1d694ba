"""export focus' rules live on FocusRequest: checked before the allocation runs or a file is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubetally.app.base import build
from kubetally.app.export import FocusRequest
from kubetally.errors import ConfigError


def refused(**values: object) -> str:
    with pytest.raises(ConfigError) as err:
        build(FocusRequest, demo=True, **values)
    return str(err.value)


def test_provider_and_out(tmp_path: Path) -> None:
    assert refused(out=tmp_path, provider=" ") == (
        "--provider: FOCUS needs a ProviderName; give a non-empty name (default: kubetally)"
    )
    (tmp_path / "focus-1.2.csv").write_text("mine\n")
    assert refused(out=tmp_path) == (
        f"--out {tmp_path} already has focus-1.2.csv: choose another directory, or --overwrite"
    )
    assert build(FocusRequest, demo=True, out=tmp_path, overwrite=True).overwrite
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    assert refused(out=a_file) == f"--out {a_file}: is a file, not a directory"
    assert refused(out=Path("csv")).startswith("--out csv: names a directory to write, and 'csv' is an output format")
    assert refused(out=tmp_path / "new", window="1x").startswith("--window '1x': invalid duration")
