"""Run a declarative study (``experiments/*.yaml``): analyses → MLflow → evidence JSON → HTML report.

Why declarative: the study is data (which analyses, which parameters, which sources), so a
reviewer can read what was run, and a re-run on a newer store is one command.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from predictor.analyses import ANALYSES, RESULT_TYPES, AnalysisResult, StudyData

from collectors import workspace

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


def load_spec(path: str | Path) -> ExperimentSpec:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: experiment file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ExperimentSpecError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise ExperimentSpecError(f"{path}: expected a mapping with 'name' and 'analyses'")
    analyses = raw.get("analyses")
    if not isinstance(analyses, dict) or not analyses:
        raise ExperimentSpecError(f"{path}: key 'analyses' must map analysis names to parameters")
    for name, params in analyses.items():
        if name not in ANALYSES:
            raise ExperimentSpecError(f"{path}: analyses.{name}: unknown analysis "
                                      f"(known: {', '.join(sorted(ANALYSES))})")
        if params is not None and not isinstance(params, dict):
            raise ExperimentSpecError(f"{path}: analyses.{name}: parameters must be a mapping")
    sources = raw.get("sources")
    if sources is not None and not (isinstance(sources, list) and all(isinstance(s, str) for s in sources)):
        raise ExperimentSpecError(f"{path}: key 'sources' must be null or a list of names")
    return ExperimentSpec(name=str(raw.get("name") or path.stem),
                          analyses={k: dict(v or {}) for k, v in analyses.items()},
                          sources=sources, description=str(raw.get("description") or ""),
                          path=str(path))


@dataclass
class ExperimentResult:
    spec: ExperimentSpec
    results: dict[str, AnalysisResult] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def claims(self) -> pd.DataFrame:
        """One row per claim of the study — every analysis type, so a claim whose analysis failed
        or was left out of the spec still shows (as untestable, with the reason)."""
        rows = []
        for name, kind in RESULT_TYPES.items():
            result = self.results.get(name) or kind()
            for claim in result.claims():
                row = claim.row()
                if name in self.errors:
                    row["note"] = f"analysis failed: {self.errors[name]}"
                elif name not in self.spec.analyses:
                    row["note"] = "analysis not in this experiment"
                rows.append(row)
        return pd.DataFrame(rows)

    def evidence(self) -> dict[str, Any]:
        return {"experiment": self.spec.name,
                "analyses": {n: r.evidence() for n, r in self.results.items()},
                "errors": self.errors}

    def summary(self) -> str:
        lines = [f"experiment {self.spec.name}: {len(self.results)} analyses ran, "
                 f"{len(self.errors)} failed"]
        for name, sec in self.seconds.items():
            lines.append(f"  {name:<20} {sec:6.1f} s" + (f"  FAILED: {self.errors[name]}"
                                                          if name in self.errors else ""))
        return "\n".join(lines)


def run_experiment(spec: ExperimentSpec | str | Path, data: StudyData | None = None, store=None,
                   tracking_uri: str | None = None, report_dir: str | Path | None = None,
                   log: bool = True, progress=None) -> ExperimentResult:
    """Run every analysis of ``spec``, log to MLflow, write ``evidence.json`` and the HTML report.

    An analysis that raises is recorded (its claims show as untestable) and the rest still run:
    one failing analysis must not hide the others' results.
    """
    if not isinstance(spec, ExperimentSpec):
        spec = load_spec(spec)
    if data is None:
        from collectors.store import open_store
        data = StudyData.from_store(store if store is not None and not isinstance(store, (str, Path))
                                    else open_store(store), sources=spec.sources)
    out = ExperimentResult(spec)
    for name, params in spec.analyses.items():
        if progress:
            progress(f"running {name} …")
        start = time.perf_counter()
        try:
            out.results[name] = ANALYSES[name](data, **params)
        except (ValueError, KeyError, ImportError, ZeroDivisionError) as exc:
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
           "ExperimentSpecError", "load_spec", "run_experiment"]
