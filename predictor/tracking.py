"""MLflow tracking: the one module of effbench that imports ``mlflow``.

Why a thin edge: evaluations and analyses compute result objects; this module turns any object
with ``params() / metrics() / tables() / figures()`` into an MLflow run (params, metrics, CSV and
PNG artifacts, child runs per target), and a fitted transfer predictor into a registered MLflow
model. Nothing else needs to know MLflow exists, and ``mlflow`` is imported inside the functions so
that ``effbench --help`` and library imports stay fast.

The default tracking store is ``sqlite:///$EFFBENCH_HOME/mlflow.db`` (``collectors.workspace``,
beside the default measurement store, with artifacts in ``mlartifacts/`` beside it); ``MLFLOW_TRACKING_URI`` or an explicit
``tracking_uri`` overrides it. The model registry works on that SQLite store.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

from collectors import workspace
from collectors.store import store_snapshot  # noqa: F401  (re-exported: where runs get their id)

DEFAULT_TRACKING_URI = workspace.tracking_uri()
DEFAULT_EXPERIMENT = "effbench"
#: MLflow rejects parameter values longer than this.
_MAX_PARAM = 6000
_METRIC_NAME = re.compile(r"[^A-Za-z0-9_\-. /]")


class TrackingError(ValueError):
    """A tracking request that cannot be honoured (unknown model URI, unusable tracking store)."""


@runtime_checkable
class TrackableResult(Protocol):
    """What :func:`log_result` needs: evaluation and analysis results all provide it."""

    def params(self) -> dict[str, Any]: ...

    def metrics(self) -> dict[str, float]: ...

    def tables(self) -> dict[str, pd.DataFrame]: ...

    def figures(self) -> dict[str, Figure]: ...


def resolve_tracking_uri(uri: str | None = None) -> str:
    """``uri``, else ``$MLFLOW_TRACKING_URI``, else the default SQLite file (its folder is created)."""
    uri = uri or workspace.tracking_uri()
    if uri.startswith(("postgresql://", "postgres://")):
        from collectors.sqlstore import driver_url  # psycopg 3, not MLflow's default psycopg2

        uri = driver_url(uri)
    if uri.startswith("sqlite:///"):
        path = Path(uri[len("sqlite:///"):])
        path.parent.mkdir(parents=True, exist_ok=True)
    elif "://" not in uri:  # a bare folder: MLflow's file store
        Path(uri).mkdir(parents=True, exist_ok=True)
    return uri


def _mlflow(uri: str | None):
    import mlflow

    resolved = resolve_tracking_uri(uri)
    mlflow.set_tracking_uri(resolved)
    mlflow.set_registry_uri(resolved)
    return mlflow


def artifact_location(uri: str) -> str | None:
    """Where a new experiment's artifacts go for a local SQLite tracking store: a folder beside
    the database (``<home>/mlartifacts``), never MLflow's default ``./mlruns`` in the working
    directory. Servers and remote stores decide for themselves (None)."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").resolve().as_uri()
    return None


def use_experiment(mlflow, name: str) -> None:
    """``mlflow.set_experiment`` that creates the experiment with :func:`artifact_location`."""
    if mlflow.get_experiment_by_name(name) is None:
        try:
            mlflow.create_experiment(name, artifact_location=artifact_location(
                mlflow.get_tracking_uri()))
        except Exception:  # noqa: BLE001 - another process created it first: use theirs
            pass
    mlflow.set_experiment(name)


def _param_value(value: Any) -> str:
    if isinstance(value, (list, tuple, set)):
        value = ",".join(map(str, value))
    elif isinstance(value, Mapping):
        value = json.dumps(value, default=str, sort_keys=True)
    text = str(value)
    return text if len(text) <= _MAX_PARAM else text[: _MAX_PARAM - 3] + "..."


def _clean_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for name, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number):
            out[_METRIC_NAME.sub("_", str(name))] = number
    return out


def _log_tables_and_figures(mlflow, tables: Mapping[str, pd.DataFrame],
                            figures: Mapping[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "tables"
        folder.mkdir()
        for name, table in tables.items():
            table.to_csv(folder / f"{name}.csv", index=False)
        if tables:
            mlflow.log_artifacts(str(folder), artifact_path="tables")
    for name, fig in figures.items():
        mlflow.log_figure(fig, f"figures/{name}.png")
        if "matplotlib.pyplot" in sys.modules:  # figures made with pyplot: free them
            sys.modules["matplotlib.pyplot"].close(fig)


def _children(result: Any, nested_by: str) -> dict[str, dict[str, float]]:
    """Per-``nested_by`` metrics: the result's own ``nested_metrics`` if it has one, else the
    mean of every numeric column of its ``per_target`` table within each group."""
    if hasattr(result, "nested_metrics"):
        return result.nested_metrics(nested_by)
    table = result.tables().get("per_target")
    if table is None or nested_by not in table:
        return {}
    numeric = table.select_dtypes("number")
    return {str(key): numeric.loc[group.index].mean().to_dict()
            for key, group in table.groupby(nested_by)}


def log_result(result: TrackableResult, run_name: str, experiment: str = DEFAULT_EXPERIMENT,
               params: Mapping[str, Any] | None = None, nested_by: str | None = "target",
               tracking_uri: str | None = None) -> str:
    """Log a result as one parent run (+ one nested run per ``nested_by`` value); return its id.

    Works for any object with ``params/metrics/tables/figures`` (evaluations, analyses). Child
    runs are made when ``nested_by`` names a column of the result's per-target table.
    """
    mlflow = _mlflow(tracking_uri)
    use_experiment(mlflow, experiment)
    all_params = {**result.params(), **(params or {})}
    with mlflow.start_run(run_name=run_name) as parent:
        mlflow.log_params({k: _param_value(v) for k, v in all_params.items()})
        mlflow.log_metrics(_clean_metrics(result.metrics()))
        _log_tables_and_figures(mlflow, result.tables(), result.figures())
        if nested_by:
            for key, metrics in _children(result, nested_by).items():
                with mlflow.start_run(run_name=f"{run_name}/{key}", nested=True):
                    mlflow.log_params({nested_by: _param_value(key)})
                    mlflow.log_metrics(_clean_metrics(metrics))
        return parent.info.run_id


# --------------------------------------------------------------------------- trained models

_MODEL_CODE = '''"""effbench transfer predictor (MLflow models-from-code entry; no pickled state)."""
import mlflow
from predictor.tracking import TransferPyfunc

mlflow.models.set_model(TransferPyfunc())
'''

def _pyfunc_class():
    """Build the pyfunc class on first use, so that importing this module does not import mlflow."""
    from mlflow.pyfunc import PythonModel

    class TransferPyfunc(PythonModel):
        """MLflow pyfunc over a source-fitted transfer predictor.

        ``predict`` takes a frame with columns ``model, latency_ms`` (the target device's known
        measurements) and returns every model's predicted latency on that device. Its state is
        the ``save_method`` folder and the source matrix (Parquet), both version-stable files.
        """

        def load_context(self, context) -> None:
            self.trained_ = _read_trained(Path(context.artifacts["trained"]), uri=None)

        def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
            """The target is named by ``params`` (device, runtime, precision) or by columns of
            those names in ``model_input``."""
            from predictor.service import predict_from_known

            given = dict(params or {})
            for name in ("device", "runtime", "precision"):
                if name not in given and name in model_input and len(model_input):
                    given[name] = str(model_input[name].iloc[0])
            known = model_input.drop(columns=[c for c in ("device", "runtime", "precision")
                                              if c in model_input])
            return predict_from_known(self.trained_.matrix, known,
                                      estimator=self.trained_.estimator,
                                      method=self.trained_.method, device=given.get("device"),
                                      runtime=given.get("runtime"),
                                      precision=given.get("precision")).table()

    return TransferPyfunc


def __getattr__(name: str):
    if name == "TransferPyfunc":
        cls = _pyfunc_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass
class TrainedModel:
    """What ``effbench predict --model-uri`` needs: the source-fitted estimator and its matrix."""
    estimator: Any
    matrix: Any
    method: str
    uri: str | None


def _write_matrix(matrix, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    matrix.values.to_parquet(folder / "values.parquet")
    matrix.configs.to_parquet(folder / "configs.parquet")
    matrix.models.to_parquet(folder / "models.parquet")
    (folder / "meta.json").write_text(json.dumps({"metric": matrix.metric}))


def _read_matrix(folder: Path):
    from predictor.matrix import LatencyMatrix

    meta = json.loads((folder / "meta.json").read_text())
    return LatencyMatrix(pd.read_parquet(folder / "values.parquet"),
                         pd.read_parquet(folder / "configs.parquet"),
                         pd.read_parquet(folder / "models.parquet"), meta["metric"])


def _read_trained(root: Path, uri: str | None) -> TrainedModel:
    from predictor.methods import load_method

    meta = json.loads((root / "effbench.json").read_text())
    return TrainedModel(load_method(root / "method"), _read_matrix(root / "matrix"),
                        meta["method"], uri)


def _requirements() -> list[str]:
    """Pinned requirements of the pyfunc, given explicitly: MLflow's inference of them imports
    the model in a subprocess, which costs tens of seconds."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for package in ("mlflow", "pandas", "pyarrow", "numpy", "scikit-learn", "xgboost", "statsmodels"):
        try:
            out.append(f"{package}=={version(package)}")
        except PackageNotFoundError:
            pass
    return out


def log_trained_model(est: Any, name: str, matrix: Any, method: str,
                      tracking_uri: str | None = None, experiment: str = DEFAULT_EXPERIMENT,
                      params: Mapping[str, Any] | None = None) -> str:
    """Log ``est`` (already ``fit_source``-ed on ``matrix``) as an MLflow model, register it under
    ``name`` and return the model URI ``models:/<name>/<version>``."""
    from predictor.methods import save_method

    mlflow = _mlflow(tracking_uri)
    use_experiment(mlflow, experiment)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "trained"
        save_method(est, root / "method")
        _write_matrix(matrix, root / "matrix")
        (root / "effbench.json").write_text(json.dumps({"method": method}))
        code = Path(tmp) / "effbench_transfer_model.py"
        code.write_text(_MODEL_CODE)
        with mlflow.start_run(run_name=f"train-{name}"):
            mlflow.log_params({"method": method, "metric": matrix.metric,
                               "n_models": matrix.values.shape[0],
                               "n_configs": matrix.values.shape[1],
                               **{k: _param_value(v) for k, v in (params or {}).items()}})
            info = mlflow.pyfunc.log_model(name="model", python_model=str(code),
                                           artifacts={"trained": str(root)},
                                           registered_model_name=name,
                                           pip_requirements=_requirements())
    version = info.registered_model_version
    return f"models:/{name}/{version}"


def load_trained_model(uri: str, tracking_uri: str | None = None) -> TrainedModel:
    """The estimator and source matrix behind a registered model URI (no refitting)."""
    mlflow = _mlflow(tracking_uri)
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except Exception as exc:  # MlflowException and friends: one line for the CLI
        raise TrackingError(f"model URI {uri!r}: {str(exc).splitlines()[0]}") from None
    trained = local / "artifacts" / "trained"
    if not (trained / "effbench.json").exists():
        raise TrackingError(f"model URI {uri!r} is not an effbench transfer model")
    return _read_trained(trained, uri)


def ui_command(tracking_uri: str | None = None, port: int = 5000, *, host: str = "127.0.0.1",
               artifacts_destination: str | os.PathLike[str] | None = None,
               allowed_hosts: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The ``mlflow server`` command line and environment behind ``effbench ui`` and
    ``effbench server start``.

    Light mode: one worker, job execution off (about 400 MB instead of 2.2 GB). A PostgreSQL
    backend (``postgresql://``) is given to MLflow with the psycopg 3 driver, the one installed.
    ``artifacts_destination``: where the server stores artifacts it proxies for its clients
    (clients on other machines upload through the server, so none needs the folder).
    """
    import shutil

    from collectors.sqlstore import driver_url

    uri = driver_url(resolve_tracking_uri(tracking_uri))
    exe = shutil.which("mlflow") or str(Path(sys.executable).with_name("mlflow"))
    cmd = [exe, "server", "--backend-store-uri", uri, "--workers", "1",
           "--host", host, "--port", str(port)]
    if artifacts_destination is not None:
        folder = Path(artifacts_destination).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        cmd += ["--artifacts-destination", str(folder)]
    if allowed_hosts:
        cmd += ["--allowed-hosts", allowed_hosts]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    return cmd, env


def experiment_id(tracking_uri: str | None = None, name: str = DEFAULT_EXPERIMENT) -> str:
    """The id of experiment ``name`` in a tracking or backend store, created if absent.

    Why: the UI's start page in MLflow 3 is the (empty) GenAI overview; ``effbench ui`` opens
    ``#/experiments/<id>/runs`` instead, and tags the experiment as model development so that
    MLflow shows its runs, not traces.
    """
    from mlflow.tracking import MlflowClient

    from collectors.sqlstore import driver_url

    uri = driver_url(resolve_tracking_uri(tracking_uri))
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    found = client.get_experiment_by_name(name)
    if found is None:
        try:
            ident = client.create_experiment(name, artifact_location=artifact_location(uri))
        except Exception:  # noqa: BLE001 - another process created it first: use theirs
            ident = client.get_experiment_by_name(name).experiment_id
        found = client.get_experiment(ident)
    if "mlflow.experimentKind" not in found.tags:
        client.set_experiment_tag(found.experiment_id, "mlflow.experimentKind",
                                  "custom_model_development")
    return str(found.experiment_id)


__all__ = ["DEFAULT_TRACKING_URI", "TrackableResult", "TrackingError", "TrainedModel",
           "TransferPyfunc", "experiment_id", "load_trained_model", "log_result", "log_trained_model",
           "resolve_tracking_uri", "store_snapshot", "ui_command"]
