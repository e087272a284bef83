"""``effbench run`` (what ``make run`` calls): the whole study on this machine, resumable.

Steps, each skipped or degraded with a message rather than a crash when its input is missing:
1. import the public data (``$EFFBENCH_DATA``, else ``../shared/data``, else a fetch when online);
2. profile the 13 seed models here (torch + onnxruntime, 1 thread, 3 s caps; ``--quick``: 5
   models, 1 s caps; the collector skips configurations already in the store, so a second run
   costs nothing);
3. trace FLOPs for the stored models timm's MACs do not cover (seconds);
4. run ``experiments/paper.yaml``: MLflow logging, ``evidence.json``, the HTML report;
5. trace the operator features of every stored model, what the cold-start predictor of
   ``effbench predict --models`` learns from (resumable, about 5 min in two worker processes
   the first time: last, so that the study and report do not wait for it);
6. say where the report is and how to open the MLflow UI.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from collectors import workspace
from experiments import PAPER


def import_public_data(store, say: Callable[[str], None]) -> None:
    from collectors.importers import import_public, public_data_root

    root = public_data_root()
    if root is None:
        try:
            from collectors.importers.fetch import fetch
            root = workspace.home() / "public"
            for source in ("aihub", "timm"):
                fetch(source, root / source)
        except Exception as exc:  # noqa: BLE001 - offline is a normal state, not an error
            say(f"public data: not found locally and fetch failed ({exc}); continuing without it")
            return
    for summary in import_public(root, store):
        say(summary.summary())


#: ``--quick`` profiles these (5: the fewest a runtime-pair ρ is computed on); the full job all 13.
QUICK_MODELS = "resnet18,mobilenetv2_100,squeezenet1_1,levit_128s,efficientnet_b0"
QUICK_SECONDS, FULL_SECONDS = 1.0, 3.0


def profile_locally(store, quick: bool, say: Callable[[str], None]) -> None:
    """torch + onnxruntime, one thread, short timing caps: the ONNX↔PyTorch claim needs both
    runtimes on one machine, and the whole job must stay within 15 min on 2 cores."""
    from collectors.local import collect

    summary = collect(QUICK_MODELS if quick else "seed13", ["torch", "onnxruntime"], threads=[1],
                      store=store, max_seconds_per_model=QUICK_SECONDS if quick else FULL_SECONDS,
                      progress=True)
    say(summary.summary())


def trace_stored_features(store, say: Callable[[str], None], without_flops_only: bool = False,
                          jobs: int = 2) -> None:
    """Trace stored models at their measured sizes (``collectors.features.trace_models``).
    ``without_flops_only``: just those that neither timm's MACs nor the features table cover
    (squeezenet1_1, measured only on AI Hub and here: without FLOPs a model drops out of every
    FLOPs analysis; seconds). Otherwise every stored model: what the cold-start predictor of
    ``effbench predict --models`` learns from (about 5 min the first time on two cores).
    Already-traced pairs cost nothing."""
    from collectors.features import stored_sizes, trace_stored

    models = None
    if without_flops_only:
        have: set[str] = set()
        for table in ("features", "timm_macs"):
            if table in store.tables():
                have |= set(store.read(table, columns=["model"])["model"].dropna().astype(str))
        models = [m for m in stored_sizes(store) if m not in have]
    frame, failures = trace_stored(store, jobs=jobs, progress=not without_flops_only, models=models)
    fresh = int((~frame["cached"].astype(bool)).sum()) if len(frame) else 0
    say(f"operator features: {len(frame)} (model, input size) pairs ({fresh} traced now), "
        f"{len(failures)} could not be traced")


def next_steps(tracking_uri: str | None = None) -> str:
    """What a newcomer types next: the CLI is in the virtualenv, not on PATH."""
    ui = "effbench ui" + (f" --tracking-uri {tracking_uri}" if tracking_uri else "")
    return "\n".join([
        "[bold]next[/]: the effbench command lives in the virtualenv:",
        "  source .venv/bin/activate        (or call .venv/bin/effbench)",
        "  effbench --help                  commands in workflow order",
        "  effbench store info              what the store holds",
        "  effbench predict --device 'My Phone' --runtime tflite --precision float \\",
        "      --known known.csv --out preds.csv   (known.csv: model,latency_ms)",
        f"  {ui}                      MLflow UI on http://127.0.0.1:5000",
    ])


def run_steps(steps: list[tuple[str, Callable[[], None]]], say: Callable[[str], None]) -> None:
    """Each step under its title; one whose input is missing is skipped with a message."""
    for title, step in steps:
        say(f"[bold]{title}[/]")
        try:
            step()
        except (ImportError, ValueError, OSError, RuntimeError) as exc:
            say(f"{title}: skipped ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})")


def main_job(quick: bool = False, store=None, tracking_uri: str | None = None,
             report_dir=None, skip_local: bool = False,
             say: Callable[[str], None] = print) -> Path:
    """Run every step; return the report's path."""
    from collectors.store import open_store
    from effbench.experiment import DEFAULT_REPORT_DIR, run_experiment

    t0 = time.perf_counter()
    st = open_store(store)
    steps = [("import public data", lambda: import_public_data(st, say))]
    if not skip_local:
        steps.append(("profile seed models locally", lambda: profile_locally(st, quick, say)))
    steps.append(("FLOPs of the models timm's MACs miss",
                  lambda: trace_stored_features(st, say, without_flops_only=True)))
    run_steps(steps, say)
    say("[bold]experiment[/]")
    result = run_experiment(PAPER, store=st, tracking_uri=tracking_uri, report_dir=report_dir,
                            progress=say)
    say(result.summary())
    report = Path(report_dir or DEFAULT_REPORT_DIR) / "index.html"
    say(f"report: {report.resolve()}  (open it in a browser)")
    # last, as the longest step: the study needs none of it, and an interrupted trace resumes
    # (the first cold-start request completes it)
    run_steps([("operator features of every stored model (cold start)",
                lambda: trace_stored_features(st, say))], say)
    say(f"done in {time.perf_counter() - t0:.0f} s")
    say(next_steps(tracking_uri))
    return report


__all__ = ["QUICK_MODELS", "import_public_data", "main_job", "next_steps", "profile_locally", "run_steps",
           "trace_stored_features"]
