"""Commands: ``recommend``, ``experiment run`` and ``run`` (the main job)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from effbench.cli.options import StoreOption, TrackingOption
from effbench.cli._app import app, console, one_line_errors

experiment_app = typer.Typer(help="Run declarative studies (experiments/*.yaml).",
                             no_args_is_help=True)
app.add_typer(experiment_app, name="experiment")


@app.command("recommend")
@one_line_errors
def recommend_cmd(
    families: str = typer.Option(..., help="Comma-separated model families, e.g. transformer,mobile_cnn."),
    target_tier: str = typer.Option(..., help="gpu, cpu or edge."),
    budget: Optional[int] = typer.Option(None, help="Most target measurements you can afford."),
    store: StoreOption = None,
    evidence: Optional[Path] = typer.Option(None, help="evidence.json (default: beside the report)."),
) -> None:
    """Which metric to trust, whether transfer suffices, how many target runs, which families."""
    from rich.table import Table

    from effbench.experiment import DEFAULT_REPORT_DIR, EVIDENCE_FILE
    from predictor.recommend import Evidence, recommend

    path = evidence or (Path(store).parent / "report" / EVIDENCE_FILE if store
                        else DEFAULT_REPORT_DIR / EVIDENCE_FILE)
    wanted = [f.strip() for f in families.split(",") if f.strip()]
    if not wanted:
        raise ValueError("--families: give at least one family, e.g. --families transformer")
    rec = recommend(Evidence.from_json(path), wanted, target_tier.strip().lower(), budget=budget)
    console.print(rec.summary())
    table = Table(title=f"evidence ({path})")
    table.add_column("figure")
    table.add_column("value [95 % CI]")
    for what, value in rec.figures:
        table.add_row(what, value)
    console.print(table)


@experiment_app.command("run")
@one_line_errors
def experiment_run(
    spec: Path = typer.Argument(..., help="Experiment YAML, e.g. experiments/paper.yaml."),
    store: StoreOption = None,
    tracking_uri: TrackingOption = None,
    report_dir: Optional[Path] = typer.Option(None, help="Report folder (default $EFFBENCH_HOME/report)."),
    no_mlflow: bool = typer.Option(False, "--no-mlflow", help="Skip MLflow logging."),
) -> None:
    """Run the study's analyses, judge its claims, log them to MLflow and write the HTML report."""
    from effbench.experiment import DEFAULT_REPORT_DIR, run_experiment

    result = run_experiment(spec, store=store, tracking_uri=tracking_uri, report_dir=report_dir,
                            log=not no_mlflow, progress=lambda m: console.print(m))
    console.print(result.summary())
    console.print(result.claims()[["claim in the study", "claimed", "value", "95 % CI", "verdict",
                                   "effbench's method / variant"]].to_string(index=False))
    console.print(f"report: {(report_dir or DEFAULT_REPORT_DIR) / 'index.html'}")


@app.command("run")
@one_line_errors
def run_cmd(
    quick: bool = typer.Option(False, "--quick", help="CI scale: fewer models, shorter caps."),
    store: StoreOption = None,
    tracking_uri: TrackingOption = None,
    report_dir: Optional[Path] = typer.Option(None, help="Report folder (default $EFFBENCH_HOME/report)."),
    skip_local: bool = typer.Option(False, "--skip-local", help="Do not profile on this machine."),
) -> None:
    """The main job: import public data, profile the seed models here, run the study, report."""
    from effbench.main_job import main_job

    main_job(quick=quick, store=store, tracking_uri=tracking_uri, report_dir=report_dir,
             skip_local=skip_local, say=lambda m: console.print(m))
