"""report, baseline and serve through the real command line, on a saved AuditFlow dataset."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from clirun import cli
from kubetally.cli import option_names
from kubetally.data import demo_inputs
from kubetally.dataset import Dataset, save
from kubetally.simulate import ScenarioConfig, simulate

DOCS = Path(__file__).parents[2] / "docs"


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ds: Dataset = simulate(ScenarioConfig(days=1, step_seconds=600)).with_info(inputs=demo_inputs())
    return save(ds, tmp_path_factory.mktemp("ds") / "dataset")


def test_report_and_baselines(
    dataset_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "history.duckdb"
    monkeypatch.setenv("KUBETALLY_STORE", str(store))
    monkeypatch.setenv("COLUMNS", "300")

    def _run(*args: str, store: Path) -> tuple[int, str, str]:
        """``kubetally ARGS`` as the console script runs it (errors are one line and exit 2)."""
        return cli(capsys, monkeypatch, *args)

    code, _, err = _run("baseline", "save", "first", "-d", str(dataset_dir), store=store)
    assert code == 0, err
    assert f"baseline first saved in {store}" in " ".join(err.split())
    code, _, err = _run("baseline", "save", "first", "-d", str(dataset_dir), store=store)
    assert code == 2 and "already exists" in err and "Traceback" not in err
    code, out, _ = _run("baseline", "diff", "first", "-d", str(dataset_dir), "-o", "json", store=store)
    changes = json.loads(out)
    assert code == 0 and changes["totals"]["monthly_change"] == 0.0 and changes["workloads"] == []
    code, _, err = _run("baseline", "diff", "nope", "-d", str(dataset_dir), store=store)
    assert code == 2 and "no baseline 'nope'" in err and "saved: first" in err
    code, _, err = _run("baseline", "save", "bad name", "-d", str(dataset_dir), store=store)
    assert code == 2 and "Traceback" not in err
    target = tmp_path / "out" / "report.html"
    code, _, err = _run("report", "-d", str(dataset_dir), "--out", str(target), "--baseline", "first", store=store)
    assert code == 0, err
    html = target.read_text()
    assert "Since the baseline “first”" in html and "<script" not in html


DOCUMENTED = [
    ("serve.md", ("serve",)),
    ("report.md", ("report",)),
    ("report.md", ("baseline", "save")),
    ("report.md", ("baseline", "diff")),
]


@pytest.mark.parametrize(("doc", "command"), DOCUMENTED)
def test_docs_name_every_option(doc: str, command: tuple[str, ...]) -> None:
    text = (DOCS / doc).read_text()
    missing = [opt for opt in option_names(*command) if f"`{opt}" not in text]
    assert not missing, f"docs/{doc} does not explain {missing} of kubetally {' '.join(command)}"


def test_serve_answers_and_stops_on_sigterm(dataset_dir: Path, tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from servers import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubetally", "serve", "-d", str(dataset_dir), "--listen", f"127.0.0.1:{port}",
         "--every", "1h"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "KUBETALLY_STORE": str(tmp_path / "h")},
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert "node_total_hourly_cost{" in httpx.get(f"{url}/metrics", timeout=60).text
        assert httpx.get(f"{url}/api/summary", timeout=60).json()["source"] == "simulator:auditflow"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        assert f"stopped serving {url}" in err.decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigterm_during_a_computation_stops_the_worker_too(dataset_dir: Path, tmp_path: Path) -> None:
    """The kubelet's SIGTERM while a worker computes: serve stops it and exits 0 (no orphan left computing)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubetally", "serve", "-d", str(dataset_dir), "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "KUBETALLY_STORE": str(tmp_path / "h")},
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline().decode()  # the CLI exec'd into the server, which starts a worker
        assert "computing the whole window in a worker process" in line, line
        worker = None
        for _ in range(600):
            kids = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(p) == proc.pid]
            if kids:
                worker = int(kids[0].name)
                break
            time.sleep(0.05)
        assert worker is not None, "no worker started"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        assert "stopped serving (not yet listening)" in err.decode()
        assert not Path(f"/proc/{worker}").exists() or _parent(Path(f"/proc/{worker}")) != proc.pid
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _parent(proc_dir: Path) -> int:
    try:
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1
