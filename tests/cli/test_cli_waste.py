"""`kubetally waste` as a user runs it: every output format, --fail-on, filters, the config file, bad input, docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clirun import cli
from kubetally.cli import option_names
from kubetally.dataset import save
from kubetally.simulate import ScenarioConfig, simulate

ROOT = Path(__file__).parents[2]
HAND_DUMP = ROOT / "tests" / "waste" / "data" / "reference-paths.yaml"
BOUTIQUE = ROOT / "testdata" / "online-boutique-kubernetes-manifests.yaml"
REAL_DUMP = ROOT / "testdata" / "kube-dumps" / "kubectl-neat-list-1-raw.json"


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("waste") / "ds"
    save(simulate(ScenarioConfig(days=8, step_seconds=1800)), target)
    return target


def test_json_lists_the_planted_items_with_costs(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = cli(capsys, monkeypatch, "waste", "-d", str(dataset_dir), "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    rules = {(f["rule"], f["name"]) for f in doc["findings"]}
    assert ("orphaned-secret", "smtp-credentials-2023") in rules
    assert doc["not_judged"] == []  # the simulator has every spec
    assert ("released-pv", "pvc-old-reports") in rules
    assert ("debug-logging", "audit-log-analysis-dev") in rules
    assert set(doc["scores"]) == {"compute", "storage", "objects", "logging", "hygiene", "overall"}
    released = next(f for f in doc["findings"] if f["rule"] == "released-pv")
    assert released["monthly_cost"] > 0 and released["currency"] == "USD"
    assert doc["monthly_cost_total"] == pytest.approx(sum(f["monthly_cost"] or 0 for f in doc["findings"]), abs=0.02)
    assert {row["namespace"] for row in doc["log_volume"]} >= {"auditflow", "auditflow-dev"}


def test_sarif_is_2_1_0_with_one_result_per_finding(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, out, _ = cli(capsys, monkeypatch, "waste", "-d", str(dataset_dir), "-o", "json")
    findings = json.loads(out)["findings"]
    code, out, err = cli(capsys, monkeypatch, "waste", "-d", str(dataset_dir), "-o", "sarif")
    assert code == 0, err
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert len(run["results"]) == len(findings)
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {f["rule"] for f in findings}
    secret = next(r for r in run["results"] if r["ruleId"] == "orphaned-secret")
    assert secret["level"] == "warning"
    assert (
        secret["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == "auditflow/Secret/smtp-credentials-2023"
    )


def test_markdown_groups_by_owner_and_shows_the_silence_command(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = cli(capsys, monkeypatch, "waste", "-d", str(dataset_dir), "-o", "markdown")
    assert code == 0
    assert "## analytics:" in out and "## notifications:" in out
    assert "`kubectl -n auditflow annotate secret smtp-credentials-2023 kubetally.io/ignore=orphaned-secret`" in out


def test_fail_on_exits_1_only_at_or_above_the_severity(
    dataset_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli(capsys, monkeypatch, "waste", "-d", str(dataset_dir), "--fail-on", "medium", "-o", "json")
    assert code == 1 and "at medium or worse" in err
    # only the hygiene rule on load-tester (low) is left: medium is not reached
    code, _, _ = cli(capsys, monkeypatch, "waste", "-d", str(dataset_dir), "--rule", "missing-labels", "--fail-on",
                     "medium", "-o", "json")  # fmt: skip
    assert code == 0


def test_config_file_ignore_list_and_thresholds(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "waste.yaml"
    config.write_text(
        "required_labels: [app]\n"
        "ignore:\n  - {rule: 'orphaned-*', namespace: auditflow, reason: kept for the 2023 audit}\n"
    )
    code, out, err = cli(capsys, monkeypatch, "waste", "-d", str(dataset_dir), "--config", str(config), "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    rules = {f["rule"] for f in doc["findings"]}
    assert not {r for r in rules if r.startswith("orphaned-")}
    assert "missing-labels" not in rules  # load-tester has app
    assert doc["silenced"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "html"], "--output 'html': Input should be 'table', 'json', 'yaml', 'sarif' or 'markdown'"),
        (["--fail-on", "severe"], "--fail-on 'severe': Input should be 'info', 'low', 'medium' or 'high'"),
        (["--rule", "orphan"], "error: --rule 'orphan': no such rule; the rules are idle-workload, scaled-to-zero"),
        # the bad one of several, alone (was the whole tuple: "--rule ('idle-workload', 'orphan')")
        (["--rule", "idle-workload", "--rule", "orphan"], "error: --rule 'orphan': no such rule;"),
        (["-n", "nope"], "--namespace nope: no such namespace"),
    ],
)
def test_bad_input_is_one_line(
    dataset_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    code, out, err = cli(capsys, monkeypatch, "waste", "-d", str(dataset_dir), *args)
    assert code == 2
    assert message in err and "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1 and "('" not in err


def test_bad_config_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "waste.yaml"
    config.write_text("idle_cpu_ratio: 2\n")
    code, _, err = cli(capsys, monkeypatch, "waste", "--kube-dump", str(HAND_DUMP), "--config", str(config))
    assert code == 2 and "idle_cpu_ratio: Input should be less than or equal to 1" in err
    code, _, err = cli(capsys, monkeypatch, "waste", "--kube-dump", str(tmp_path / "missing.yaml"))
    assert code == 2 and "no such file or directory" in err


def test_real_public_manifests_have_no_false_orphans(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Online Boutique: every Service selects a Deployment's template, every ServiceAccount is used."""
    code, out, err = cli(capsys, monkeypatch, "waste", "--kube-dump", str(BOUTIQUE), "-o", "json")
    assert code == 0, err
    doc = json.loads(out)
    sections = {f["section"] for f in doc["findings"]}
    assert sections == {"hygiene"}  # the demo's manifests carry only `app` labels and all have requests
    assert {f["rule"] for f in doc["findings"]} == {"missing-labels"}
    assert len(doc["findings"]) == 12  # its 12 Deployments
    assert "one point in time" in err


def test_real_kubectl_dump_bare_besteffort_pods(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """kubectl-neat's real dump: two bare pods without requests; no usage, so their cost is unknown."""
    code, out, err = cli(capsys, monkeypatch, "waste", "--kube-dump", str(REAL_DUMP), "-o", "json")
    assert code == 0, err
    found = {(f["rule"], f["name"]): f for f in json.loads(out)["findings"]}
    assert set(found) == {("no-requests", "t1"), ("no-requests", "t2"), ("missing-labels", "t1"),
                          ("missing-labels", "t2")}  # fmt: skip
    assert found[("no-requests", "t1")]["monthly_cost"] is None
    assert "QoS BestEffort; no usage samples" in found[("no-requests", "t1")]["evidence"]


@pytest.mark.parametrize("name", ["waste", "janitor"])
def test_docs_name_every_option(name: str) -> None:
    options = option_names(name)
    text = (ROOT / "docs" / f"{name}.md").read_text()
    assert [o for o in options if o not in text] == []
