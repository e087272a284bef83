"""The team set-up: an MLflow server on PostgreSQL, ``effbench ui``'s process handling, and two
``effbench tune`` workers sharing one Optuna study in PostgreSQL.

Every server here is a real ``mlflow server`` on a free port; PostgreSQL databases are created
per test session and dropped afterwards (``tests/_pg.py``), and skipped with the reason where no
PostgreSQL is reachable.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _pg import fresh_database

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "effbench.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _processes_with(text: str, without: str | None = None) -> list[int]:
    """Live (non-zombie) processes whose command line contains ``text`` (and not ``without``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state != "Z" and not (without and without in cmdline):
            found.append(int(entry.name))
    return found


def _wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def home_env(tmp_path) -> dict[str, str]:
    env = {**os.environ, "EFFBENCH_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO),
           "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("EFFBENCH_STORE", None)
    return env


# --------------------------------------------------------------------------- effbench ui


_TREE = """
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)  # effbench-tree-child"])
time.sleep(600)  # effbench-tree-parent
"""
_WRAPPER = """
import sys
from effbench.cli.server import run_foreground
print("ready", flush=True)
sys.exit(run_foreground([sys.executable, "-c", sys.argv[1]], {}))
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_run_foreground_forwards_the_signal_to_the_whole_tree(home_env, sig):
    """What ``effbench ui`` runs MLflow with: a parent and its child, like mlflow and uvicorn."""
    tag = f"effbench-tree-{os.getpid()}-{sig}"
    tree = _TREE.replace("effbench-tree", tag)
    proc = subprocess.Popen([sys.executable, "-c", _WRAPPER, tree], cwd=REPO, env=home_env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        _wait_until(lambda: _processes_with(f"{tag}-child", without="subprocess"), 30,
                    "the grandchild to start")
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 128 + sig
        _wait_until(lambda: not _processes_with(tag), 10, "the tree to exit")
    finally:
        for pid in _processes_with(tag):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()


def test_ui_stops_its_server_when_killed_and_opens_on_the_runs(tmp_path, home_env):
    from mlflow.tracking import MlflowClient

    port = _free_port()
    db = f"sqlite:///{tmp_path / 'mlflow.db'}"
    proc = subprocess.Popen([sys.executable, "-m", "effbench.cli", "ui", "--tracking-uri", db,
                             "--port", str(port)], cwd=REPO, env=home_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        seen = []
        while not (seen and seen[-1].startswith("MLflow UI on")):  # after MLflow's own log lines
            seen.append(proc.stdout.readline())
            assert seen[-1], "".join(seen)
        match = re.search(rf"http://127\.0\.0\.1:{port}/#/experiments/(\d+)/runs", seen[-1])
        assert match, seen[-1]
        ident = MlflowClient(tracking_uri=db).get_experiment_by_name("effbench").experiment_id
        assert match.group(1) == ident
        from effbench.cli.server import healthy

        _wait_until(lambda: healthy(f"http://127.0.0.1:{port}"), 90, "the UI to answer")
        assert len(_processes_with(f"--port {port}")) >= 2  # mlflow and its uvicorn child
        proc.send_signal(signal.SIGTERM)  # what `kill` sends
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        _wait_until(lambda: not _processes_with(f"--port {port}"), 15, "the server tree to exit")
    finally:
        for pid in _processes_with(f"--port {port}"):
            os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()


# --------------------------------------------------------------------------- server on PostgreSQL


@pytest.fixture(scope="module")
def pg_mlflow():
    with fresh_database("mlflow") as url:
        yield url


@pytest.fixture(scope="module")
def pg_optuna():
    with fresh_database("optuna") as url:
        yield url


@pytest.fixture(scope="module")
def server(pg_mlflow, tmp_path_factory):
    """``effbench server start`` on a PostgreSQL backend; stopped (and checked gone) after."""
    home = tmp_path_factory.mktemp("server_home")
    env = {**os.environ, "EFFBENCH_HOME": str(home), "PYTHONPATH": str(REPO)}
    env.pop("MLFLOW_TRACKING_URI", None)
    port = _free_port()
    started = _cli("server", "start", "--backend-store-uri", pg_mlflow, "--port", str(port), env=env)
    assert started.returncode == 0, started.stdout + started.stderr
    url = f"http://127.0.0.1:{port}"
    yield {"url": url, "home": home, "env": env, "port": port, "output": started.stdout}
    stopped = _cli("server", "stop", env=env)
    assert stopped.returncode == 0 and "stopped MLflow server" in stopped.stdout
    _wait_until(lambda: not _processes_with(f"--port {port}"), 15, "the server tree to exit")
    assert not (home / "mlflow-server.json").exists()


class _Result:
    """The smallest TrackableResult: what evaluate and analyses hand to log_result."""

    def params(self):
        return {"protocol": "lodo", "k": 5}

    def metrics(self):
        return {"within_10": 0.625, "spearman": 0.9}

    def tables(self):
        return {"per_target": pd.DataFrame({"target": ["a", "b"], "within_10": [0.5, 0.75]})}

    def figures(self):
        return {}


def test_runs_logged_through_the_server_on_postgresql_read_back(server, pg_mlflow, tmp_path):
    import psycopg
    from mlflow.tracking import MlflowClient

    from predictor.tracking import log_result

    assert f"runs: {server['url']}/#/experiments/" in server["output"]
    assert "export MLFLOW_TRACKING_URI=http://127.0.0.1:" in server["output"]
    run_id = log_result(_Result(), "via-server", tracking_uri=server["url"])
    client = MlflowClient(tracking_uri=server["url"])
    run = client.get_run(run_id)
    assert run.data.metrics == {"within_10": 0.625, "spearman": 0.9}
    assert run.data.params["protocol"] == "lodo" and run.info.run_name == "via-server"
    children = client.search_runs([run.info.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{run_id}'")
    assert sorted(r.data.params["target"] for r in children) == ["a", "b"]
    local = client.download_artifacts(run_id, "tables/per_target.csv", str(tmp_path))
    pd.testing.assert_frame_equal(pd.read_csv(local), _Result().tables()["per_target"])
    # the rows are in PostgreSQL, the artifact under the server's workspace
    with psycopg.connect(pg_mlflow) as conn:
        assert conn.execute("SELECT count(*) FROM runs WHERE run_uuid = %s", (run_id,)).fetchone() == (1,)
    assert list((server["home"] / "mlartifacts").rglob("per_target.csv"))
    status = _cli("server", "status", env=server["env"])
    assert status.returncode == 0 and "healthy" in status.stdout and "postgresql://" in status.stdout
    again = _cli("server", "start", "--port", str(_free_port()), env=server["env"])
    assert again.returncode == 2 and "already running" in again.stderr


def test_server_that_cannot_start_is_one_line(tmp_path, home_env):
    bad = _cli("server", "start", "--backend-store-uri",
               "postgresql://root@127.0.0.1:5432/effbench_no_such_database", "--port",
               str(_free_port()), env=home_env, timeout=60)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1
    assert 'database "effbench_no_such_database" does not exist' in bad.stderr
    assert not (tmp_path / "home" / "mlflow-server.json").exists()
    assert _cli("server", "status", env=home_env).returncode == 1


# --------------------------------------------------------------------------- shared Optuna study


def _tiny_store(folder: Path) -> str:
    """5 devices (two on one chipset) x 2 setups x 16 models of low-rank synthetic latency."""
    from collectors.schema import to_frame
    from collectors.store import ParquetStore

    rng = np.random.default_rng(3)
    models = [f"m{i:02d}" for i in range(16)]
    base, emb = rng.normal(1.0, 0.8, len(models)), rng.normal(0, 0.4, len(models))
    records = []
    for d, (device, chipset) in enumerate([("a", "X1"), ("b", "X1"), ("c", "Y1"), ("d", "Z1"), ("e", "W1")]):
        for s, runtime in enumerate(("tflite", "onnx")):
            for m, model in enumerate(models):
                ms = float(np.exp(base[m] + emb[m] * (s - 0.5) + 0.3 * d + rng.normal(0, 0.02)))
                records.append(dict(model=model, device=device, chipset=chipset, device_tier="edge",
                                    runtime=runtime, precision="float", latency_ms=ms,
                                    source="aihub", source_ref=f"synthetic/{device}",
                                    measured_at="2025-01-01"))
    store = ParquetStore(folder)
    store.append(to_frame(records))
    return str(folder)


def test_two_tune_workers_share_one_study(server, pg_optuna, tmp_path):
    import optuna
    from mlflow.tracking import MlflowClient

    store = _tiny_store(tmp_path / "store")
    env = server["env"]
    args = ["tune", "--method", "lowrank", "--storage", pg_optuna, "--study", "shared",
            "--n-trials", "2", "--store", store, "--draws", "1", "--tracking-uri", server["url"]]
    workers = [subprocess.Popen([sys.executable, "-m", "effbench.cli", *args], cwd=REPO, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for _ in range(2)]
    outputs = [w.communicate(timeout=240)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    from predictor.tuning import load_best, storage_url

    study = optuna.load_study(study_name="shared", storage=storage_url(pg_optuna))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 4 and sorted(t.number for t in complete) == [0, 1, 2, 3]
    assert study.user_attrs["effbench_setup"]["devices"] == ["a", "b", "c", "d", "e"]
    assert any("after 4 trials" in out for out in outputs)  # the later worker saw all four
    saved = json.loads((server["home"] / "tuned" / "lowrank.json").read_text())
    assert saved["params"] == study.best_params == load_best("lowrank", server["home"] / "tuned")
    assert saved["study"] == "shared" and saved["storage"].startswith("postgresql://")
    runs = MlflowClient(tracking_uri=server["url"]).search_runs(
        [MlflowClient(tracking_uri=server["url"]).get_experiment_by_name("effbench").experiment_id],
        filter_string="attributes.run_name = 'tune-shared'")
    assert len(runs) == 2 and {r.data.params["method"] for r in runs} == {"lowrank"}
    assert any(float(r.data.metrics["best_within10"]) == study.best_value for r in runs)
    # a worker that scores something else is refused, and the study is unchanged
    other = _cli(*args[:-2], "--k", "3", "--no-log", env=env)
    assert other.returncode == 2 and "study 'shared' scores k=5" in other.stderr
    assert len(optuna.load_study(study_name="shared", storage=storage_url(pg_optuna)).trials) == 4


def test_tuned_parameters_reach_the_method(tmp_path, monkeypatch):
    from predictor.methods import make_method
    from predictor.tuning import TuningError, TuningResult, save_best, tuned_method

    monkeypatch.setenv("EFFBENCH_HOME", str(tmp_path))
    result = TuningResult("lowrank", {"rank": 3, "alpha": 0.5}, 0.8, "within10", 4, "s",
                          "sqlite:///x.db", ["a"], pd.DataFrame())
    save_best(result)
    est = tuned_method("lowrank", target_alpha=2.0)
    assert (est.rank, est.alpha, est.target_alpha) == (3, 0.5, 2.0)
    assert tuned_method("krt").get_params() == make_method("krt").get_params()  # never tuned
    (tmp_path / "tuned" / "krt.json").write_text("{}")
    with pytest.raises(TuningError, match="not a tuning result"):
        tuned_method("krt")
