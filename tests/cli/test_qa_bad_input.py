"""Bad input a new user types: one red line naming the cause and exit 2, never a traceback or an empty report."""

from __future__ import annotations

from pathlib import Path

import pytest

from clirun import cli as run_cli
from kubetally.dataset import save
from kubetally.simulate import ScenarioConfig, simulate


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    """Run ``kubetally ARGS`` as the console script does; (exit code, stdout + stderr)."""
    ran = run_cli(capsys, monkeypatch, *args)
    return ran.code, ran.text


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("qa") / "ds"
    save(simulate(ScenarioConfig(days=1, step_seconds=900)), target)
    return target


def test_unknown_namespace_is_an_error_not_an_empty_report(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for command in ("rightsize", "scale"):
        code, text = cli(capsys, monkeypatch, command, "-d", str(dataset_dir), "-n", "nope")
        assert code == 2, text
        assert "--namespace nope: no such namespace" in text and "auditflow-dev" in text


def test_selector_matching_nothing_is_an_error(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "rightsize", "-d", str(dataset_dir), "-l", "team=nobody")
    assert code == 2, text
    assert "--selector 'team=nobody': no workload matches it" in text


def test_scale_unknown_time_zone_is_a_clear_error(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for zone in ("Mars/Phobos", "Factory"):  # Factory: known to zoneinfo, not to polars
        code, text = cli(capsys, monkeypatch, "scale", "-d", str(dataset_dir), "--timezone", zone)
        assert code == 2, text
        assert f"--timezone '{zone}': not an IANA time zone" in text and "internal error" not in text


def test_simulate_refuses_to_overwrite_an_openmetrics_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    precious = tmp_path / "history.om"
    precious.write_text("precious\n")
    args = (
        "simulate",
        "--out",
        str(tmp_path / "ds"),
        "--days",
        "0.1",
        "--step",
        "3600",
        "--openmetrics",
        str(precious),
    )
    code, text = cli(capsys, monkeypatch, *args)
    assert code == 2, text
    assert "already exists" in text and "--overwrite" in text
    assert precious.read_text() == "precious\n" and not (tmp_path / "ds").exists()


def test_simulate_bad_openmetrics_paths_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    out = str(tmp_path / "ds")
    for target, expected in (
        (tmp_path, "is a directory"),
        (a_file / "x.om", "is a file, not a directory"),
        (tmp_path / "ds", "other than the dataset directory"),
    ):
        code, text = cli(capsys, monkeypatch, "simulate", "--out", out, "--days", "0.1", "--openmetrics", str(target))
        assert code == 2 and expected in text and "internal error" not in text, text
    code, text = cli(capsys, monkeypatch, "simulate", "--out", str(a_file / "ds"), "--days", "0.1")
    assert code == 2 and "is a file, not a directory" in text, text


def test_simulate_openmetrics_in_a_new_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "new" / "history.om"
    args = ("simulate", "--out", str(tmp_path / "ds"), "--days", "0.02", "--step", "900", "--openmetrics", str(target))
    code, text = cli(capsys, monkeypatch, *args)
    assert code == 0, text
    assert target.read_text().startswith("# HELP")


def test_simulate_days_shorter_than_a_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "simulate", "--out", str(tmp_path / "ds"), "--days", "0.01", "--step", "3600")
    assert code == 2, text
    assert "shorter than one --step" in text and not (tmp_path / "ds").exists()


def test_window_zero_or_shorter_than_a_step_is_an_error(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "showback", "-d", str(dataset_dir), "--window", "0h")
    assert code == 2 and "must be longer than zero" in text, text
    code, text = cli(capsys, monkeypatch, "showback", "-d", str(dataset_dir), "--window", "0.1h")
    assert code == 2 and "shorter than one step of the dataset (900 s)" in text, text


def test_showback_option_errors_name_the_option(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = str(dataset_dir)
    for args, expected in (
        (("--idle", "nope"), "--idle 'nope': Input should be 'separate', 'share' or 'node'"),
        (("--basis", "nope"), "--basis 'nope': Input should be 'max' or 'request'"),
        (("--share", "auditflow", "--split", "nope"), "--split 'nope': Input should be 'even' or 'weighted'"),
        (("--share", "nope"), "--share nope: no such namespace or namespace/workload in the dataset"),
        (("--daily", "--unowned"), "--daily and --unowned print different reports"),
    ):
        code, text = cli(capsys, monkeypatch, "showback", "-d", d, *args)
        assert code == 2 and expected in " ".join(text.split()), text


def test_showback_share_by_workload_name_still_works(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("--share", "auditflow/postgresql", "--share", "auditflow/StatefulSet/rabbitmq")
    code, text = cli(capsys, monkeypatch, "showback", "-d", str(dataset_dir), *args)
    assert code == 0 and "reconciled" in text, text


def test_export_focus_never_overwrites_silently(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "focus"
    out.mkdir()
    (out / "focus-1.2.csv").write_text("mine\n")
    args = ("export", "focus", "-d", str(dataset_dir), "--out", str(out))
    code, text = cli(capsys, monkeypatch, *args)
    assert code == 2 and "already has focus-1.2.csv" in text and "--overwrite" in text, text
    assert (out / "focus-1.2.csv").read_text() == "mine\n"
    code, text = cli(capsys, monkeypatch, *args, "--overwrite")
    assert code == 0, text
    assert (out / "focus-1.2.csv").read_text().startswith("BilledCost,")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    code, text = cli(capsys, monkeypatch, "export", "focus", "-d", str(dataset_dir), "--out", str(a_file))
    assert code == 2 and "is a file, not a directory" in text, text


def test_backtest_train_days_as_long_as_the_dataset_is_an_error(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "backtest", "-d", str(dataset_dir), "--train-days", "5")
    assert code == 2 and "--train-days 5 leaves nothing to score: the dataset has 1 days" in " ".join(text.split())


def test_backtest_unknown_output_fails_before_scoring(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "backtest", "-d", str(dataset_dir), "-o", "xml")
    assert code == 2 and "--output 'xml'" in text and "scored in" not in text, text


def test_cost_diff_fail_above_nan_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "cost-diff", str(tmp_path), str(tmp_path), "--fail-above", "nan")
    assert code == 2 and "--fail-above nan: give an amount of money" in text, text


def test_a_file_where_a_directory_is_expected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    code, text = cli(capsys, monkeypatch, "showback", "-d", str(a_file))
    assert code == 2 and "is a file, not a dataset directory" in text, text
    code, text = cli(capsys, monkeypatch, "demo", "--out", str(a_file), "--days", "0.1", "--no-store")
    assert code == 2 and f"--out {a_file}: is a file, not a directory" in " ".join(text.split()), text


def test_rightsize_output_formats_are_named_and_manifests_refuses_o(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "rightsize", "-d", str(dataset_dir), "-o", "xml")
    assert code == 2 and "--output 'xml': Input should be 'table', 'json', 'csv', 'yaml', 'patch' or 'vpa'" in text, (
        text
    )
    code, text = cli(
        capsys, monkeypatch, "rightsize", "-d", str(dataset_dir), "--manifests", str(tmp_path), "-o", "patch"
    )
    assert code == 2 and "drop -o patch" in text, text


def test_collect_checks_its_files_before_connecting(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "http://127.0.0.1:1"  # nothing listens: reaching the server would be a different error
    code, text = cli(capsys, monkeypatch, "collect", "--prometheus", url, "--out", str(dataset_dir))
    assert code == 2 and "already exists" in text and "--overwrite" in text, text
    missing = str(tmp_path / "missing")
    new = str(tmp_path / "new")
    code, text = cli(capsys, monkeypatch, "collect", "--prometheus", url, "--out", new, "--labels-from", missing)
    assert code == 2 and f"--labels-from {missing}: no such file" in " ".join(text.split()), text
    code, text = cli(capsys, monkeypatch, "collect", "--prometheus", url, "--out", new, "--ca-file", missing)
    assert code == 2 and f"CA file {missing}: no such file" in " ".join(text.split()), text


def test_showback_daily_as_json_the_documented_example(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    code, text = cli(capsys, monkeypatch, "showback", "-d", str(dataset_dir), "--by", "team", "--daily", "-o", "json")
    assert code == 0, text
    rows = json.loads(text)
    assert rows and all(len(row["day"]) == 10 and row["day"][4] == "-" for row in rows)


def test_backtest_on_a_dataset_too_short_to_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    tiny = tmp_path / "tiny"
    save(simulate(ScenarioConfig(days=0.01, step_seconds=300)), tiny)
    code, text = cli(capsys, monkeypatch, "backtest", "-d", str(tiny))
    assert code == 2 and "too short to train on one part and score the rest" in " ".join(text.split()), text


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: app
          image: web
          resources:
            requests: {{cpu: 100m, memory: {memory}}}
"""


@pytest.mark.parametrize(
    ("memory", "expected"),
    [
        ("-1", "cannot be negative: -1"),
        ("-100m", "cannot be negative: '-100m'"),
        (".nan", "not a Kubernetes quantity: nan"),
        ("1e400", "not a Kubernetes quantity: inf"),
        ("1Gb", "not a Kubernetes quantity: '1Gb'"),
    ],
)
def test_cost_diff_bad_quantities_are_one_line(
    memory: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    base.mkdir()
    head.mkdir()
    (base / "web.yaml").write_text(DEPLOYMENT.format(memory="128Mi"))
    (head / "web.yaml").write_text(DEPLOYMENT.format(memory=memory))
    code, text = cli(capsys, monkeypatch, "cost-diff", str(base), str(head))
    assert code == 2 and expected in " ".join(text.split()) and "internal error" not in text, text


@pytest.mark.parametrize("command", [("showback",), ("showback", "--unowned"), ("nodes",)])
def test_window_longer_than_the_dataset_is_noted_in_every_format(
    command: tuple[str, ...], dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, *command, "-d", str(dataset_dir), "--window", "30d", "-o", "json")
    assert code == 0, text
    assert "--window 30d is longer than the dataset (1 days): using all of it" in " ".join(text.split())


def test_cost_diff_with_no_manifests_at_all_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    base.mkdir()
    head.mkdir()
    code, text = cli(capsys, monkeypatch, "cost-diff", str(base), str(head))
    assert code == 2 and "no YAML manifests in" in text and "nothing to compare" in " ".join(text.split()), text


def test_showback_daily_table_shows_every_day_and_group(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, csv_text = cli(capsys, monkeypatch, "showback", "-d", str(dataset_dir), "--daily", "-o", "csv")
    assert code == 0, csv_text
    rows = [line.split(",") for line in csv_text.strip().splitlines()[1:]]
    code, table = cli(capsys, monkeypatch, "showback", "-d", str(dataset_dir), "--daily")
    assert code == 0 and "…" not in table and "shape:" not in table, table
    lines = table.splitlines()
    for namespace, day, total in rows:
        assert any(namespace in line and day in line and total in line for line in lines), (namespace, day, total)


def test_backtest_out_of_bounds_and_nothing_scored(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    d = str(dataset_dir)
    code, text = cli(capsys, monkeypatch, "backtest", "-d", d, "--mode", "rolling", "--window-days", "1000")
    assert code == 2 and "--window-days 1000.0: Input should be less than or equal to 365" in text, text
    code, text = cli(capsys, monkeypatch, "backtest", "-d", d, "--min-points", "1000000")
    assert code == 2 and "nothing to score" in text and "internal error" not in text, text


def test_demo_store_that_is_a_directory_fails_before_simulating(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "demo"
    code, text = cli(capsys, monkeypatch, "demo", "--out", str(out), "--days", "0.1", "--store", str(tmp_path))
    assert code == 2 and "is a directory; give the path of a DuckDB file" in " ".join(text.split()), text
    assert not out.exists()


def test_allocation_rule_selecting_nothing_is_warned(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = tmp_path / "allocation.yaml"
    settings.write_text("shared:\n  - name: ghost\n    select: {namespaces: [no-such-namespace]}\n")
    code, text = cli(capsys, monkeypatch, "showback", "-d", str(dataset_dir), "--allocation", str(settings))
    assert code == 0, text
    assert "shared-cost rule 'ghost' shares nothing" in " ".join(text.split())


def test_version(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from importlib.metadata import version

    code, text = cli(capsys, monkeypatch, "--version")
    assert code == 0 and text.strip() == f"kubetally {version('kubetally')}"


def test_rightsize_on_an_empty_dataset_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty"
    save(simulate(ScenarioConfig(days=0.01, step_seconds=3600)), empty)  # shorter than one step: no samples
    code, text = cli(capsys, monkeypatch, "rightsize", "-d", str(empty))
    assert code == 0 and "no workload containers in the dataset: nothing to recommend" in text, text
    assert "0 containers: ." not in text


def test_nodes_recommended_with_a_machine_format_is_refused(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "nodes", "-d", str(dataset_dir), "--recommended", "-o", "json")
    assert code == 2 and "--recommended adds a packing table; -o json prints only the per-node frame" in " ".join(
        text.split()
    ), text


def test_backtest_settings_for_a_strategy_not_scored_are_refused(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("default_tier: standard\ntiers:\n  standard: {}\n")
    d = str(dataset_dir)
    code, text = cli(capsys, monkeypatch, "backtest", "-d", d, "-s", "simple", "--policy", str(policy))
    assert code == 2 and "--policy is for the tiered strategy" in text, text
    code, text = cli(capsys, monkeypatch, "backtest", "-d", d, "-s", "simple", "--set", "vpa.safety_margin=0.2")
    assert code == 2 and "the vpa strategy is not scored in this run" in " ".join(text.split()), text


def test_collect_bad_cluster_label_and_ca_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ("collect", "--prometheus", "http://127.0.0.1:1", "--out", str(tmp_path / "ds"))
    code, text = cli(capsys, monkeypatch, *base, "--cluster-label", "x y")
    assert code == 2 and "invalid Prometheus label name 'x y'" in text, text
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    code, text = cli(capsys, monkeypatch, *base, "--ca-file", str(not_pem))
    assert code == 2 and "not a PEM certificate bundle" in " ".join(text.split()), text


def test_policy_error_reads_as_a_sentence(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("default_tier: nope\ntiers:\n  standard: {}\n")
    code, text = cli(capsys, monkeypatch, "rightsize", "-d", str(dataset_dir), "--policy", str(policy))
    flat = " ".join(text.split())
    assert code == 2 and "tiered settings: default_tier 'nope' is not one of the tiers (standard)" in flat, text


def test_export_focus_empty_provider_is_refused(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("export", "focus", "-d", str(dataset_dir), "--out", str(tmp_path / "f"), "--provider", " ")
    code, text = cli(capsys, monkeypatch, *args)
    assert code == 2 and "FOCUS needs a ProviderName" in text and not (tmp_path / "f").exists(), text


def test_split_without_share_is_an_error_and_empty_overcommit_says_so(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "showback", "-d", str(dataset_dir), "--split", "even")
    assert code == 2 and "give --share too" in text, text
    code, text = cli(capsys, monkeypatch, "showback", "-d", str(dataset_dir), "--overcommit")
    assert code == 0 and "no node is over-committed" in " ".join(text.split()), text


def test_nodes_headroom_with_a_machine_format_is_refused(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text = cli(capsys, monkeypatch, "nodes", "-d", str(dataset_dir), "--headroom", "1", "-o", "json")
    assert code == 2 and "--headroom sizes the packing table" in text, text
