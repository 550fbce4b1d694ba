"""serve's light server (kubetally.app.serving): answers rendered by real worker processes over a saved
AuditFlow dataset equal what the rendering app answers in process; nothing is recomputed while the dataset's
files hash the same; the server process imports only the standard library."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from kubetally.app.serve import ServeRequest, request_data, serve_config
from kubetally.app.serving import ServeConfig, Served, WorkerFailed, dataset_fingerprint, run
from kubetally.dataset import Dataset, save
from kubetally.outputs.overview import Overview
from kubetally.outputs.web.bundle import Response, read_bundle, write_bundle
from kubetally.outputs.web.query import ROUTES, BadRequest, route_key
from kubetally.outputs.web.views import Application, Views, openapi
from kubetally.simulate import ScenarioConfig, simulate


@pytest.fixture(scope="module")
def saved(auditflow_ds: Dataset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save(auditflow_ds, tmp_path_factory.mktemp("serving") / "dataset")


def _config(dataset: Path, repo: Path | None = None) -> ServeConfig:
    given = {"dataset": dataset, "listen": "127.0.0.1:0", "every": "1h", "repo": repo}
    return serve_config(ServeRequest.model_validate(given))


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real git repository with two commits: k8s/ = AuditFlow's dev overlay, then its production manifests."""
    import shutil

    where = tmp_path_factory.mktemp("repo")

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(where), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                       check=True, capture_output=True)  # fmt: skip

    git("init", "-q", "-b", "main")
    for commit, tree in (("dev", "auditflow-dev"), ("production", "auditflow")):
        shutil.rmtree(where / "k8s", ignore_errors=True)
        shutil.copytree(ROOT / "k8s" / tree, where / "k8s")
        git("add", "-A")
        git("commit", "-q", "-m", commit)
    return where


@pytest.fixture(scope="module")
def live(saved: Path, repo: Path) -> Iterator[str]:
    """`run` in a thread (its workers are real `python -m kubetally.app.serve_worker` processes)."""
    config = _config(saved, repo)
    urls: list[str] = []
    stop = threading.Event()

    def log(line: str) -> None:
        if line.startswith("serving "):
            urls.append(line.split()[1])

    thread = threading.Thread(target=run, args=(config, log, stop), daemon=True)
    thread.start()
    for _ in range(600):
        if urls or not thread.is_alive():
            break
        stop.wait(0.5)
    assert urls, "the server never came up"
    yield urls[0]
    stop.set()
    thread.join(timeout=30)


def test_the_server_process_imports_only_the_standard_library() -> None:
    code = (
        "import sys; before = set(sys.modules); import kubetally.app.serving; "
        "names = sorted({m.split('.')[0] for m in set(sys.modules) - before} - set(sys.stdlib_module_names) "
        "- {'kubetally'}); "
        "print(names); print(sorted(m for m in sys.modules if m.startswith('kubetally')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "[]", f"the server imports {out[0]}"
    assert "kubetally.outputs.web.views" not in out[1] and "kubetally.dataset" not in out[1]


def _same_money(got: object, expected: object, where: str) -> None:
    """Equal, except that a cent may sit in another component of the same row: showback's largest-remainder
    rounding breaks ties by row order, and polars' group_by order varies from run to run (in one process too);
    float sums may differ in the last bit for the same reason."""
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), where
        for key in expected:
            _same_money(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), where
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            _same_money(g, e, f"{where}.{i}")
    elif isinstance(expected, str) and where.endswith("_cost") and not where.endswith("total_cost"):
        assert abs(float(str(got)) - float(expected)) <= 0.0100001, where
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-9), where  # float sums in another order
    else:
        assert got == expected, where


def test_answers_equal_the_rendering_app_in_process(
    live: str, auditflow_ds: Dataset, windowed: Callable[[Dataset, timedelta | None], Overview]
) -> None:
    local = Application(Views(lambda window: windowed(auditflow_ds, window)))
    for url in ("/api/showback?by=team", "/api/showback?by=app&window=1d", "/api/nodes?window=1d", "/api/rightsize"):
        path, _, query = url.partition("?")
        expected = local.respond(path, dict(q.split("=") for q in query.split("&")) if query else {})
        got = httpx.get(live + url, timeout=300)
        assert got.status_code == 200, (url, got.text[:300])
        _same_money(got.json(), json.loads(expected.body), url)
    metrics = httpx.get(live + "/metrics", timeout=60).text
    assert "node_total_hourly_cost{" in metrics and "kubetally_workload_cost_per_hour{" in metrics
    # one spelling per window: 24h is the 1d computed above (no worker needed)
    assert (
        httpx.get(live + "/api/showback?by=app&window=24h", timeout=60).json()
        == httpx.get(live + "/api/showback?window=1d&by=app", timeout=60).json()
    )


def test_every_path_of_the_openapi_file_answers_as_it_says_on_the_real_server(live: str) -> None:
    from jsonschema import Draft202012Validator

    spec = openapi()
    checked: list[str] = []
    refused: list[str] = []
    for path, item in spec["paths"].items():
        if "{" in path:
            continue  # /api/baselines/{name}: none saved in this store
        op = item["get"]
        example = {p["name"]: p["example"] for p in op.get("parameters", []) if "example" in p}
        for query in ({}, example):
            response = httpx.get(live + path, params=query, timeout=600)
            if not query and response.status_code == 400:
                # cost-diff needs its refs
                assert "400" in op["responses"] and set(response.json()) == {"error"}, path
                refused.append(path)
                continue
            assert response.status_code == 200, (path, query, response.text[:300])
            content = op["responses"]["200"]["content"]
            kind = next(iter(content))
            assert response.headers["content-type"].startswith(kind), path
            if kind == "application/json":
                schema = {**content[kind]["schema"], "components": spec["components"]}
                errors = [e.message for e in Draft202012Validator(schema).iter_errors(response.json())]
                assert not errors, (path, query, errors[:3])
            checked.append(path)
    assert refused == ["/api/cost-diff"]
    pages = {"/", "/showback", "/nodes", "/rightsize", "/waste"}
    assert set(ROUTES) - pages - {"/openapi.json"} <= set(checked)  # every route the server has is in the file
    assert httpx.get(live + "/openapi.json", timeout=60).json() == spec
    for page in pages:
        assert httpx.get(live + page, timeout=60).headers["content-type"].startswith("text/html"), page


def test_scale_equals_the_cli(live: str, saved: Path) -> None:
    cli = subprocess.run([sys.executable, "-m", "kubetally", "scale", "-d", str(saved), "-o", "json"],
                         capture_output=True, text=True, check=True)  # fmt: skip
    got = httpx.get(live + "/api/scale", timeout=600)
    assert got.status_code == 200, got.text[:300]
    expected = json.loads(cli.stdout)
    assert expected["hpa"] and expected["offhours"]
    _same_money(got.json(), expected, "/api/scale")


def test_storage_equals_the_cli(live: str, saved: Path) -> None:
    for report in ("volumes", "tables"):
        cli = subprocess.run(
            [sys.executable, "-m", "kubetally", "storage", "-d", str(saved), "-o", "json", "--report", report],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        got = httpx.get(live + "/api/storage", params={"report": report}, timeout=600)
        assert got.status_code == 200, got.text[:300]
        expected = json.loads(cli.stdout)
        assert expected, report  # AuditFlow has volumes and the audit_event table
        _same_money(got.json(), expected, f"/api/storage?report={report}")
    bad = httpx.get(live + "/api/storage?report=nope", timeout=600)
    assert bad.status_code == 400 and "one of volumes, tables" in bad.json()["error"]


def _cli_json(*args: str) -> object:
    done = subprocess.run(
        [sys.executable, "-m", "kubetally", *args, "-o", "json"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-500:]
    return json.loads(done.stdout)


def test_backtest_equals_the_cli(live: str, saved: Path) -> None:
    for query, options in (
        ({"min_points": "100"}, ["--min-points", "100"]),
        ({"mode": "rolling", "strategy": "current, tiered", "train_days": "1", "window_days": "1",
          "min_points": "100"}, ["--mode", "rolling", "-s", "current", "-s", "tiered", "--train-days", "1",
                                 "--window-days", "1", "--min-points", "100"]),
    ):  # fmt: skip
        expected = _cli_json("backtest", "-d", str(saved), *options)
        got = httpx.get(live + "/api/backtest", params=query, timeout=600)
        assert got.status_code == 200, got.text[:300]
        assert isinstance(expected, list) and len(expected) >= 2
        _same_money(got.json(), expected, f"/api/backtest?{query}")
    refused = subprocess.run([sys.executable, "-m", "kubetally", "backtest", "-d", str(saved), "--min-points",
                              "9999999", "-o", "json"], capture_output=True, text=True, check=False)  # fmt: skip
    nothing = httpx.get(live + "/api/backtest", params={"min_points": "9999999"}, timeout=600)
    assert refused.returncode != 0 and nothing.status_code == 400
    assert nothing.json()["error"].startswith("nothing to score: no container has")
    assert nothing.json()["error"] in refused.stderr  # the CLI's one line
    bad = httpx.get(live + "/api/backtest?strategy=nope", timeout=600)
    assert bad.status_code == 400 and bad.json()["error"].startswith(
        "--strategy: unknown strategy 'nope'; choose current,"
    ), bad.text


def test_cost_diff_equals_the_cli(live: str, saved: Path, repo: Path) -> None:
    expected = _cli_json("cost-diff", "HEAD~1", "HEAD", "--repo", str(repo), "--path", "k8s", "-d", str(saved))
    got = httpx.get(live + "/api/cost-diff", params={"base": "HEAD~1", "head": "HEAD"}, timeout=600)
    assert got.status_code == 200, got.text[:300]
    assert isinstance(expected, dict) and expected["monthly_cost_delta"] > 0  # production asks for more than dev
    _same_money(got.json(), expected, "/api/cost-diff")
    for query, error in (
        ({"base": "HEAD~1"}, "head=REF is required"),
        ({"base": "--output=/tmp/x", "head": "HEAD"}, "base='--output=/tmp/x': not a git ref"),
        ({"base": "/etc", "head": "HEAD"}, "base='/etc': not a git ref"),
        ({"base": "nosuchbranch", "head": "HEAD"}, "'nosuchbranch' is neither a manifest directory nor a commit"),
    ):
        bad = httpx.get(live + "/api/cost-diff", params=query, timeout=600)
        assert bad.status_code == 400 and bad.json()["error"].startswith(error), (query, bad.text)


def test_cost_diff_is_not_served_without_a_repo(saved: Path) -> None:
    app = Application(Views(lambda window: pytest.fail("no Overview is needed")))
    answer = app.respond("/api/cost-diff", {"base": "a", "head": "b"})
    assert answer.status.startswith("404") and b"start serve with --repo DIR" in answer.body
    with pytest.raises(ValueError, match="not a git repository"):
        ServeRequest.model_validate({"dataset": saved, "repo": saved})


def test_errors_are_answered_without_a_worker(live: str) -> None:
    bad = httpx.get(live + "/api/showback?window=7 days", timeout=60)
    assert bad.status_code == 400
    assert bad.json() == {"error": "window='7 days': write a number and h, d or w (e.g. 7d), or all"}
    assert httpx.get(live + "/favicon.ico", timeout=60).status_code == 404
    assert httpx.post(live + "/api/summary", timeout=60).status_code == 405
    assert httpx.get(live + "/healthz", timeout=60).text == "ok\n"


def test_an_unchanged_dataset_is_not_recomputed_and_a_changed_one_is(saved: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "ds"
    shutil.copytree(saved, copy)
    lines: list[str] = []
    (tmp_path / "work").mkdir()
    served = Served(_config(copy), tmp_path / "work", lines.append)
    assert served.refresh() is True
    before = served.answer("/api/showback", "/api/showback", {})
    assert served.refresh() is False and served.computations == 1
    other = simulate(ScenarioConfig(days=1, step_seconds=600, seed=11))
    save(other, copy, overwrite=True)
    assert served.refresh() is True and served.computations == 2
    after = served.answer("/api/showback", "/api/showback", {})
    assert json.loads(after.body)["window_hours"] == 24.0 != json.loads(before.body)["window_hours"]
    (copy / "manifest.json").write_text("{")
    with pytest.raises(WorkerFailed) as failed:
        served.refresh()
    assert "\n" not in str(failed.value) and "manifest" in str(failed.value)
    # the previous answers stand
    assert served.answer("/api/showback", "/api/showback", {}) == after


def test_dataset_fingerprint(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.parquet").write_bytes(b"12345")
    (tmp_path / "manifest.json").write_text("{}")
    first = dataset_fingerprint(tmp_path)
    assert dataset_fingerprint(tmp_path) == first
    (tmp_path / "a" / "x.parquet").write_bytes(b"12346")  # same size, one byte
    assert dataset_fingerprint(tmp_path) != first
    (tmp_path / "a" / "x.parquet").write_bytes(b"12345")
    assert dataset_fingerprint(tmp_path) == first
    (tmp_path / "a" / "x.parquet").rename(tmp_path / "a" / "y.parquet")
    assert dataset_fingerprint(tmp_path) != first


def test_bundle_round_trip_and_truncation(tmp_path: Path) -> None:
    bundle = {"/a": Response("200 OK", "text/plain", b"x" * 10), "/b?window=7d": Response("404 Not Found", "j", b"")}
    assert read_bundle(write_bundle(bundle, tmp_path / "b.bin")) == bundle
    data = (tmp_path / "b.bin").read_bytes()
    (tmp_path / "b.bin").write_bytes(data[:-3])
    with pytest.raises(ValueError, match="truncated"):
        read_bundle(tmp_path / "b.bin")


@pytest.mark.parametrize(
    ("path", "query", "key"),
    [
        ("/api/showback", {}, "/api/showback"),
        ("/api/showback", {"by": "team", "window": "all", "x": "1"}, "/api/showback"),
        ("/api/showback", {"window": "1w", "by": "app,team"}, "/api/showback?by=app%2Cteam&window=7d"),
        ("/showback", {"window": "168h"}, "/showback?window=7d"),
        ("/", {"window": "36h", "by": "app"}, "/?window=36h"),
        ("/metrics", {"window": "7d"}, "/metrics"),
        ("/api/baselines/q3", {"window": "7d"}, "/api/baselines/q3"),
        ("/api/storage", {"report": "volumes", "window": "1d"}, "/api/storage"),
        ("/api/backtest", {"mode": "static", "strategy": " tiered", "by": "x"}, "/api/backtest?strategy=tiered"),
        ("/api/cost-diff", {"head": "HEAD", "base": "main"}, "/api/cost-diff?base=main&head=HEAD"),
    ],
)
def test_route_key(path: str, query: dict[str, str], key: str) -> None:
    assert route_key(path, query) == key


def test_route_key_refuses_bad_parameters() -> None:
    with pytest.raises(BadRequest):
        route_key("/api/showback", {"by": "a,b,c,d,e"})
    with pytest.raises(BadRequest):
        route_key("/", {"window": "0d"})
    with pytest.raises(BadRequest, match="base=: at most 200 characters"):
        route_key("/api/cost-diff", {"base": "a" * 201, "head": "HEAD"})


def test_request_data_validates_back_to_the_request(saved: Path) -> None:
    request = ServeRequest.model_validate({"dataset": saved, "window": "1.5d", "every": "90s", "stop_after": "10m"})
    data = request_data(request)
    assert ServeRequest.model_validate(json.loads(json.dumps(data))) == request
