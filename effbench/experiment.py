"""Run a declarative study (``experiments/*.yaml``): analyses → MLflow → evidence JSON → HTML report.

Why declarative: the study is data (which analyses, which parameters, which sources, which
claims and how each is tested), so a reviewer can read what was run and what was claimed, and a
re-run on a newer store is one command. The claims live beside the experiment
(``claims: claims.yaml``, or inline); the analyses only compute findings.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from collectors import workspace
from predictor.analyses import AnalysisResult, StudyData, get_analysis, list_analyses
from predictor.analyses.claims import Claim, ClaimSpecError, claim_table, claims_from

DEFAULT_REPORT_DIR = workspace.report_dir()
EVIDENCE_FILE = "evidence.json"


class ExperimentSpecError(ValueError):
    """An experiment file that cannot be run; the message names the file and the key."""


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    analyses: dict[str, dict[str, Any]]
    sources: list[str] | None = None
    description: str = ""
    path: str = ""
    claims: tuple[Claim, ...] = ()


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ExperimentSpecError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None


def _claims(raw: Any, path: Path) -> tuple[Claim, ...]:
    """``claims:`` inline (a list) or a file beside the spec (a relative path)."""
    where = f"{path}"
    if isinstance(raw, str):
        file = (path.parent / raw)
        if not file.is_file():
            raise ExperimentSpecError(f"{path}: claims file '{raw}' not found beside it")
        raw, where = _load_yaml(file), str(file)
    try:
        claims = claims_from(raw, where)
    except ClaimSpecError as exc:
        raise ExperimentSpecError(str(exc)) from None
    known = set(list_analyses())
    for i, c in enumerate(claims):
        if c.analysis not in known:
            raise ExperimentSpecError(f"{where}: claims[{i}].analysis: unknown analysis "
                                      f"'{c.analysis}' (known: {', '.join(sorted(known))})")
    return tuple(claims)


def load_spec(path: str | Path) -> ExperimentSpec:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: experiment file not found")
    raw = _load_yaml(path)
    if not isinstance(raw, dict):
        raise ExperimentSpecError(f"{path}: expected a mapping with 'name' and 'analyses'")
    analyses = raw.get("analyses")
    if not isinstance(analyses, dict) or not analyses:
        raise ExperimentSpecError(f"{path}: key 'analyses' must map analysis names to parameters")
    known = list_analyses()
    for name, params in analyses.items():
        if name not in known:
            raise ExperimentSpecError(f"{path}: analyses.{name}: unknown analysis "
                                      f"(known: {', '.join(known)})")
        if params is not None and not isinstance(params, dict):
            raise ExperimentSpecError(f"{path}: analyses.{name}: parameters must be a mapping")
        accepted = list(inspect.signature(get_analysis(name).function).parameters)[1:]
        unknown = sorted(set(params or {}) - set(accepted))
        if unknown:
            raise ExperimentSpecError(f"{path}: analyses.{name}: unknown parameter(s) {unknown} "
                                      f"(known: {', '.join(accepted)})")
    sources = raw.get("sources")
    if sources is not None and not (isinstance(sources, list) and all(isinstance(s, str) for s in sources)):
        raise ExperimentSpecError(f"{path}: key 'sources' must be null or a list of names")
    return ExperimentSpec(name=str(raw.get("name") or path.stem),
                          analyses={k: dict(v or {}) for k, v in analyses.items()},
                          sources=sources, description=str(raw.get("description") or ""),
                          path=str(path), claims=_claims(raw.get("claims"), path))


def effbench_revision() -> str:
    """``git describe`` of the source tree effbench runs from, else the installed version."""
    from effbench import __version__

    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=here,
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def snapshot_id(measurements: pd.DataFrame) -> str:
    """The store snapshot id (``collectors.store.store_snapshot`` where it lives, else the
    tracking module's)."""
    try:
        from collectors.store import store_snapshot
    except ImportError:
        from predictor.tracking import store_snapshot
    return store_snapshot(measurements)


@dataclass
class ExperimentResult:
    spec: ExperimentSpec
    results: dict[str, AnalysisResult] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, str] = field(default_factory=dict)

    def claims(self) -> pd.DataFrame:
        """One row per claim of the experiment, judged on its analysis' findings; a claim whose
        analysis failed or is not in the spec still shows (untestable, with the reason)."""
        failures = {k: f"analysis failed: {v}" for k, v in self.errors.items()
                    if k not in self.results}
        for claim in self.spec.claims:
            if claim.analysis not in self.spec.analyses:
                failures.setdefault(claim.analysis, "analysis not in this experiment")
        return claim_table(list(self.spec.claims), self.results, failures)

    def evidence(self) -> dict[str, Any]:
        return {"experiment": self.spec.name, "provenance": self.provenance,
                "analyses": {n: r.evidence() for n, r in self.results.items()},
                "errors": self.errors}

    def summary(self) -> str:
        lines = [f"experiment {self.spec.name}: {len(self.results)} analyses ran, "
                 f"{len(self.errors)} failed"]
        lines += [f"  {k}: {v}" for k, v in self.provenance.items()]
        for name, sec in self.seconds.items():
            lines.append(f"  {name:<20} {sec:6.1f} s" + (f"  FAILED: {self.errors[name]}"
                                                          if name in self.errors else ""))
        return "\n".join(lines)


def run_experiment(spec: ExperimentSpec | str | Path, data: StudyData | None = None, store=None,
                   tracking_uri: str | None = None, report_dir: str | Path | None = None,
                   log: bool = True, progress=None) -> ExperimentResult:
    """Run every analysis of ``spec``, judge its claims, log to MLflow, write ``evidence.json``
    and the HTML report (with every table as CSV beside it).

    An analysis that raises is recorded (its claims show as untestable) and the rest still run:
    one failing analysis must not hide the others' results. Findings (the resampled CIs) are
    computed inside each analysis' timing, so the seconds are what the analysis costs.
    """
    if not isinstance(spec, ExperimentSpec):
        spec = load_spec(spec)
    if data is None:
        from collectors.store import open_store
        data = StudyData.from_store(store if store is not None and not isinstance(store, (str, Path))
                                    else open_store(store), sources=spec.sources)
    out = ExperimentResult(spec)
    out.provenance = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                      "effbench": effbench_revision(),
                      "store snapshot": snapshot_id(data.measurements)}
    for name, params in spec.analyses.items():
        if progress:
            progress(f"running {name} …")
        start = time.perf_counter()
        try:
            result = get_analysis(name)(data, **params)
            result.findings()
            out.results[name] = result
        except (ValueError, KeyError, ImportError, ZeroDivisionError, TypeError) as exc:
            out.errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        out.seconds[name] = time.perf_counter() - start
    if log:
        from predictor.tracking import log_result
        for name, result in out.results.items():
            try:
                log_result(result, run_name=f"{spec.name}.{name}", experiment=spec.name,
                           tracking_uri=tracking_uri)
            except Exception as exc:  # noqa: BLE001 - tracking must not lose the report
                out.errors[f"{name} (mlflow)"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    report_dir = Path(report_dir or DEFAULT_REPORT_DIR)
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / EVIDENCE_FILE).write_text(json.dumps(out.evidence(), indent=1, default=str))
    from effbench.report import write_report
    write_report(out, report_dir)
    return out


__all__ = ["DEFAULT_REPORT_DIR", "EVIDENCE_FILE", "ExperimentResult", "ExperimentSpec",
           "ExperimentSpecError", "effbench_revision", "load_spec", "run_experiment",
           "snapshot_id"]
