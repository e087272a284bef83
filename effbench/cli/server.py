"""``effbench server start|stop|status``: one MLflow tracking server for a team, and ``effbench ui``'s
process handling.

Why a server: several machines that log evaluations, trainings and tuning trials need one
tracking store. ``mlflow server`` on a PostgreSQL backend is that store; clients set
``MLFLOW_TRACKING_URI=http://HOST:PORT`` and upload artifacts through the server, so no client
needs the artifact folder. The server runs in its own process group (MLflow starts uvicorn as a
child), so stopping it stops the whole tree; its pid, URL and backend are written to
``<EFFBENCH_HOME>/mlflow-server.json`` and its output to ``<EFFBENCH_HOME>/logs/mlflow-server.log``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from collectors import workspace
from effbench.cli._app import app, console, one_line_errors

server_app = typer.Typer(help="Run the shared MLflow tracking server (PostgreSQL or SQLite "
                              "backend, artifacts under the workspace).", no_args_is_help=True)
app.add_typer(server_app, name="server")


class ServerError(ValueError):
    """The server cannot be started or stopped as asked (already running, failed to start)."""


def pid_file() -> Path:
    return workspace.home() / "mlflow-server.json"


def log_file() -> Path:
    return workspace.home() / "logs" / "mlflow-server.log"


def default_backend() -> str:
    """``$MLFLOW_TRACKING_URI`` when it names a database, else the workspace's SQLite file."""
    uri = workspace.tracking_uri()
    if uri.startswith(("http://", "https://")):
        return f"sqlite:///{workspace.home() / 'mlflow.db'}"
    return uri


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not a running server
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def stop_group(proc_or_pid: subprocess.Popen | int, grace: float = 10.0) -> None:
    """SIGTERM the process group led by ``proc_or_pid`` (MLflow and its uvicorn child), then
    SIGKILL what is left after ``grace`` seconds."""
    pid = proc_or_pid.pid if isinstance(proc_or_pid, subprocess.Popen) else proc_or_pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if isinstance(proc_or_pid, subprocess.Popen):
                proc_or_pid.poll()
            if not _group_alive(pid):
                return
            time.sleep(0.1)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    for entry in Path("/proc").iterdir():  # any non-zombie member left?
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def read_state() -> dict[str, Any] | None:
    """The running server's record, or None (a stale record of a dead server is removed)."""
    path = pid_file()
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        path.unlink(missing_ok=True)
        return None
    if not alive(int(state["pid"])):
        path.unlink(missing_ok=True)
        return None
    return state


def start_server(backend: str | None = None, host: str = "127.0.0.1", port: int = 5000,
                 artifacts: Path | None = None, allowed_hosts: str | None = None,
                 wait_s: float = 90.0) -> dict[str, Any]:
    """Start ``mlflow server`` detached, wait until it answers ``/health``; return its record."""
    from collectors.sqlstore import redacted
    from predictor.tracking import ui_command

    running = read_state()
    if running:
        raise ServerError(f"an MLflow server is already running (pid {running['pid']}, "
                          f"{running['url']}); stop it with `effbench server stop`")
    backend = backend or default_backend()
    _check_backend(backend)
    artifacts = artifacts or workspace.artifact_root()
    cmd, env = ui_command(backend, port, host=host, artifacts_destination=artifacts,
                          allowed_hosts=allowed_hosts)
    log = log_file()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"http://{local}:{port}"
    shown = redacted(backend) if backend.startswith(("postgres", "postgresql")) else backend
    state = {"pid": proc.pid, "url": url, "host": host, "port": port, "backend": shown,
             "artifacts": str(Path(artifacts).resolve()), "log": str(log.resolve()),
             "started": time.strftime("%Y-%m-%dT%H:%M:%S")}
    deadline = time.monotonic() + wait_s
    while not healthy(url, timeout=1.0):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_group(proc)
            last = _last_line(log)
            why = "exited" if proc.returncode is not None else f"no answer within {wait_s:.0f} s"
            raise ServerError(f"mlflow server {why} (see {log}): {last}")
        time.sleep(0.3)
    pid_file().write_text(json.dumps(state, indent=1))
    return state


def _check_backend(backend: str) -> None:
    """Fail fast on a database that does not answer: MLflow would retry it for minutes."""
    from collectors.sqlstore import driver_url, is_sql_url, redacted

    if not is_sql_url(backend):
        return
    import sqlalchemy as sa

    engine = sa.create_engine(driver_url(backend))
    try:
        with engine.connect():
            pass
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        raise ServerError(f"{redacted(backend)}: {reason[0] if reason else type(exc).__name__}") from None
    finally:
        engine.dispose()


def _last_line(path: Path) -> str:
    try:
        lines = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    errors = [ln for ln in lines[-40:] if "Error" in ln and "Background on this error" not in ln]
    return (errors or lines or [""])[-1].strip()[:300]


def stop_server() -> dict[str, Any] | None:
    """Stop the workspace's server (its whole process group); None when none was running."""
    state = read_state()
    if state is None:
        return None
    stop_group(int(state["pid"]))
    pid_file().unlink(missing_ok=True)
    return state


BackendOption = Annotated[Optional[str], typer.Option(
    "--backend-store-uri", help="postgresql://user@host:5432/db, or a sqlite:/// file (default: "
                                "$MLFLOW_TRACKING_URI if a database, else sqlite:///$EFFBENCH_HOME/mlflow.db).")]


@server_app.command("start")
@one_line_errors
def start(backend_store_uri: BackendOption = None,
          host: Annotated[str, typer.Option("--host", help="0.0.0.0 to serve other machines.")] = "127.0.0.1",
          port: Annotated[int, typer.Option("--port")] = 5000,
          artifacts_destination: Annotated[Optional[Path], typer.Option(
              "--artifacts-destination", help="Artifact folder (default $EFFBENCH_HOME/mlartifacts).")] = None,
          allowed_hosts: Annotated[Optional[str], typer.Option(
              "--allowed-hosts", help="Host names clients use, when serving beyond localhost "
                                      "(MLflow rejects other Host headers).")] = None,
          wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for the server.")] = 90.0) -> None:
    """Start an MLflow tracking server in the background (one worker, job execution off)."""
    from predictor.tracking import experiment_id

    state = start_server(backend_store_uri, host, port, artifacts_destination, allowed_hosts, wait)
    ident = experiment_id(state["url"])
    console.print(f"MLflow server on {state['url']} (pid {state['pid']}, backend {state['backend']}, "
                  f"log {state['log']})", highlight=False)
    console.print(f"runs: {state['url']}/#/experiments/{ident}/runs", highlight=False)
    console.print(f"clients: export MLFLOW_TRACKING_URI=http://{host if host not in ('0.0.0.0', '::') else '<this-host>'}:{port}",
                  highlight=False)


@server_app.command("stop")
@one_line_errors
def stop() -> None:
    """Stop the server started by ``effbench server start`` (MLflow and its uvicorn worker)."""
    state = stop_server()
    if state is None:
        console.print("no effbench MLflow server running", highlight=False)
    else:
        console.print(f"stopped MLflow server {state['url']} (pid {state['pid']})", highlight=False)


@server_app.command("status")
def status() -> None:
    """Whether the server runs and answers; exit code 0 if it does, 1 if not."""
    state = read_state()
    if state is None:
        console.print("no effbench MLflow server running", highlight=False)
        raise typer.Exit(1)
    ok = healthy(state["url"])
    console.print(f"MLflow server {state['url']}: {'healthy' if ok else 'not answering'} "
                  f"(pid {state['pid']}, backend {state['backend']}, since {state['started']})",
                  highlight=False)
    raise typer.Exit(0 if ok else 1)


def run_foreground(cmd: list[str], env: dict[str, str]) -> int:
    """Run a server in its own process group until it exits or this process is stopped.

    Why: ``effbench ui`` used to ``subprocess.call`` MLflow, and a ``kill`` of ``effbench ui``
    left MLflow and its uvicorn child running. SIGTERM, SIGINT and SIGHUP are forwarded to the
    whole group, and the group is stopped on any exit of this function.
    """
    state: dict[str, Any] = {"proc": None, "signal": 0}

    def forward(signum: int, _frame: object) -> None:
        state["signal"] = signum
        if state["proc"] is not None:
            try:
                os.killpg(state["proc"].pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        proc = state["proc"] = subprocess.Popen(cmd, env=env, start_new_session=True)
        if state["signal"]:  # stopped while starting it
            os.killpg(proc.pid, signal.SIGTERM)
        code = proc.wait()
    finally:
        if state["proc"] is not None:
            stop_group(state["proc"])
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 + state["signal"] if state["signal"] else code


__all__ = ["ServerError", "alive", "default_backend", "healthy", "log_file", "pid_file",
           "read_state", "run_foreground", "start_server", "stop_group", "stop_server"]
