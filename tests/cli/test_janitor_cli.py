"""`kubetally janitor`: every bad option is one line naming it (exit 2), found before the cluster is contacted."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kubetally.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--yes", "--server-dry-run"], "--yes deletes and --server-dry-run does not: give one of them"),
        (["--offhours", "plan.json", "--downscale"], "--offhours FILE annotates and --downscale scales"),
        (["--downscale", "--selector", "ci=1"], "--offhours/--downscale change workloads; --selector, --rules"),
        (["--selector", "a!=b"], "--selector 'a!=b': 'a!=b': write key=value pairs joined by commas"),
        (["--now", "tomorrow"], "--now 'tomorrow': 'tomorrow' is not an ISO 8601 date or time"),
        (["--in-cluster", "--context", "x"], "--context needs --kubeconfig (in-cluster has no contexts)"),
        (["--max-percent", "0"], "--max-percent 0.0: Input should be greater than 0"),
        (["--max-deletions", "-1"], "--max-deletions -1: Input should be greater than or equal to 0"),
        (["-o", "csv"], "--output 'csv': Input should be 'table' or 'json'"),
        (["--rules", "rules.yaml"], "rules.yaml: rules.0.kinds: unknown kind(s) Foo; the janitor handles Namespace"),
        (["--offhours", "missing.json"], "--offhours missing.json: cannot read it: No such file or directory"),
        (["--offhours", "plan.json"], "--offhours plan.json: no 'offhours' list; give kubetally scale -o json output"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rules.yaml").write_text("rules: [{id: x, kinds: [Foo]}]\n")
    (tmp_path / "plan.json").write_text("{}")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))  # would fail later, and differently
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setattr(sys, "argv", ["kubetally", "janitor", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"error: {message}" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
