"""The static HTML report of an experiment: provenance, definitions, the claim table, then each
analysis' findings, figures and tables — every table also as a CSV beside the HTML.

Static on purpose: one folder (``index.html`` + PNGs + CSVs) that opens from disk or any file
server, survives in CI artifacts, and needs no notebook or server to read. The HTML shows at
most :data:`MAX_ROWS` rows of a table and links the CSV that holds all of them.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1250px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#f0f0f0}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}
.supported{background:#e3f6e3}.not-supported{background:#fbe3e3}.inconclusive{background:#fff6d6}
.proxy{background:#e6eefb}.construction{background:#efe6fb}.untestable{color:#888}
code{background:#f4f4f4;padding:1px 4px}.provenance{color:#555}dt{font-weight:600}
dd{margin:0 0 .5em 1.5em}"""
_SECTIONS = {"new_hardware": "Prediction on new hardware (forward: devices newer than the store)",
             "disagreement": "FLOPs vs measured rank", "transfer": "Cross-tier ranking transfer",
             "predictability": "Prediction error by family", "pareto": "Pareto frontier transfer",
             "variance": "Variance decomposition of log latency",
             "noise": "Measurement noise and rank stability (run-to-run vs drift)",
             "runtime_stability": "Rank stability across runtimes"}
MAX_ROWS = 40
#: Where ``benchmarks/coldstart.py evaluate`` leaves its scores, under ``$EFFBENCH_HOME``: the
#: report shows them and never runs that evaluation (it needs ~1,700 traced models).
COLDSTART_DIR = "coldstart"
COLDSTART_SCORES = "coldstart_scores.csv"
#: estimator name in the scores -> its column label in the report
_COLD_ESTIMATORS = {"operators": "operator features", "metadata": "timm metadata", "flops": "FLOPs only"}
_VERDICT_CSS = {"supported": "supported", "not supported": "not-supported",
                "inconclusive": "inconclusive", "proxy": "proxy",
                "true by construction": "construction", "not comparable": "construction"}
#: The compound measures, defined where the report first uses them (the claim table).
DEFINITIONS = (
    ("FRM (FLOPs-Ratio-Memory)",
     "the geometric mean of a model's FLOPs, latency and peak memory, each as a ratio to a "
     "reference model (here the median model): (F/F<sub>ref</sub> · L/L<sub>ref</sub> · "
     "M/M<sub>ref</sub>)<sup>1/3</sup>; lower is better. Terms a source does not measure are "
     "left out (timm publishes no memory: there FRM = (F·L)<sup>1/2</sup> up to the reference). "
     "Rankings by FRM do not depend on the reference."),
    ("NetScore (Wong 2018)",
     "20·log<sub>10</sub>(a<sup>2</sup> / (p<sup>0.5</sup>·m<sup>0.5</sup>)), a = top-1 %, "
     "p = parameters (millions), m = multiply-accumulates (billions); higher is better."),
    ("EDP (energy-delay product)",
     "energy (mJ) × latency (ms) of one inference; only where energy was measured — the public "
     "AI Hub and timm data publish none, so no EDP figure appears here."),
)
#: On load, records how many <img> decoded (naturalWidth > 0) on <body data-images-loaded/-total>,
#: so a headless browser can check the figures render (tests/test_report_browser.py).
_IMAGE_CHECK = ("<script>window.addEventListener('load',function(){var im=document.images,n=0;"
                "for(var i=0;i<im.length;i++){if(im[i].naturalWidth>0){n++;}}"
                "document.body.setAttribute('data-images-loaded',n);"
                "document.body.setAttribute('data-images-total',im.length);});</script>")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "table"


def _csv(table: pd.DataFrame, report_dir: Path, name: str) -> str:
    """Write ``table`` as ``<name>.csv`` beside the HTML; return the file name."""
    file = f"{_slug(name)}.csv"
    table.to_csv(report_dir / file, index=False)
    return file


def _claim_table(claims: pd.DataFrame, csv: str) -> str:
    if claims.empty:
        return "<p>No claims.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in claims.columns)
    body = []
    for _, row in claims.iterrows():
        css = _VERDICT_CSS.get(str(row["verdict"]), "untestable")
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values)
        body.append(f'<tr class="{css}">{cells}</tr>')
    return (f"<table id='claims'><tr>{head}</tr>{''.join(body)}</table>"
            f"<p>All columns: <a href='{csv}'>{csv}</a></p>")


def _table(table: pd.DataFrame, title: str, report_dir: Path, csv_name: str) -> str:
    file = _csv(table, report_dir, csv_name)
    cut = len(table) > MAX_ROWS
    more = (f" — first {MAX_ROWS} of {len(table)} rows; all rows: <a href='{file}'>{file}</a>"
            if cut else f" — <a href='{file}'>CSV</a>")
    shown = table.head(MAX_ROWS)
    return (f"<h4>{html.escape(title)}<small>{more}</small></h4>"
            + shown.to_html(index=False, float_format=lambda x: f"{x:.3g}", na_rep="—", border=0))


def coldstart_table(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per (protocol, target, configuration) of cold-start scores: the operator-feature
    predictor's within ±10 % (95 % CI), Spearman and interval coverage, the baselines' within
    ±10 % and Spearman beside. AI Hub configurations (~35 models each) are one row: their mean."""
    if scores.empty:
        return pd.DataFrame()
    s = scores.copy()
    if "source" in s:
        aihub = s["source"].astype(str) == "aihub"
    else:  # AI Hub configurations are device|runtime|precision, timm's have five parts
        aihub = s["config"].astype(str).str.count(r"\|") == 2
    n_ai = s.loc[aihub, "config"].nunique()
    s.loc[aihub, "config"] = f"AI Hub (mean of {n_ai} configurations)"
    keys = ["protocol", "target", "config"]
    agg = s.groupby(keys + ["estimator"], sort=False).mean(numeric_only=True).reset_index()
    out = agg.loc[agg["estimator"] == "operators", keys + ["n"]].drop_duplicates(keys).set_index(keys)
    for est, label in _COLD_ESTIMATORS.items():
        e = agg[agg["estimator"] == est].set_index(keys)
        if e.empty:
            continue
        out[f"{label}: within ±10 %"] = e["within_10"]
        if est == "operators" and "within_10_lo" in e:
            out[f"{label}: 95 % CI"] = [f"[{lo:.2f}, {hi:.2f}]" for lo, hi in zip(e["within_10_lo"], e["within_10_hi"])]
        out[f"{label}: Spearman"] = e["spearman"]
        if est == "operators":
            out[f"{label}: coverage"] = e["coverage"]
    out = out.reset_index().rename(columns={"config": "configuration"})
    out["n"] = out["n"].round().astype("Int64")
    return out


def _coldstart_section(report_dir: Path, folder: Path) -> str:
    """The cold-start scores found in ``folder``, or a sentence saying how to make them."""
    parts = ["<h2 id='coldstart'>Cold start: latency of models measured nowhere</h2>"]
    file = folder / COLDSTART_SCORES
    if not file.exists():
        parts.append(f"<p class='untestable'>No cold-start evaluation in <code>{html.escape(str(file))}</code>. "
                     "The main job does not trace the ~1,700 models it needs; run "
                     "<code>benchmarks/coldstart.py trace</code> (~15 min once) then "
                     "<code>benchmarks/coldstart.py evaluate</code>, and the next report shows the scores "
                     "(docs/coldstart.md).</p>")
        return "\n".join(parts)
    try:
        table = coldstart_table(pd.read_csv(file))
    except (OSError, ValueError, KeyError) as exc:
        parts.append(f"<p class='untestable'>cold-start scores in <code>{html.escape(str(file))}</code> "
                     f"unreadable: {html.escape(repr(exc))}</p>")
        return "\n".join(parts)
    meta = {}
    if (folder / "coldstart_params.json").exists():
        try:
            meta = json.loads((folder / "coldstart_params.json").read_text())
        except (OSError, ValueError):
            meta = {}
    when = f" (evaluated {html.escape(str(meta['date']))})" if "date" in meta else ""
    parts.append(f"<p>Held-out models predicted back from their traced operator features{when}: "
                 "<b>leave-family-out</b> predicts each architecture family from the other four, "
                 "<b>leave-models-out</b> five random folds; <b>stored</b>: the target configuration "
                 "keeps its other models, <b>new-device</b>: the target device is known only through 10 "
                 "measured models. Within ±10 %: share of predictions within 10 % of the measurement "
                 "(95 % bootstrap CI over models); coverage: share inside the 90 % conformal interval. "
                 "Baselines: log FLOPs alone (log-linear) and timm's published GMACs, activations, "
                 "parameters and input size (gradient boosting). From "
                 f"<code>{html.escape(str(file))}</code>, written by <code>benchmarks/coldstart.py "
                 "evaluate</code>.</p>")
    parts.append(_table(table, "coldstart scores", report_dir, "coldstart-scores"))
    return "\n".join(parts)


def write_report(experiment, report_dir: str | Path, coldstart_dir: str | Path | None = None) -> Path:
    """Write ``index.html``, one PNG per figure and one CSV per table into ``report_dir``.
    ``coldstart_dir``: where cold-start scores are read (default ``$EFFBENCH_HOME/coldstart``)."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    prov = getattr(experiment, "provenance", {}) or {}
    claims = experiment.claims()
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>effbench report: "
             f"{html.escape(experiment.spec.name)}</title><style>{_CSS}</style></head><body>",
             f"<h1>effbench — {html.escape(experiment.spec.name)}</h1>",
             "<p class='provenance'>" + " · ".join(
                 f"{html.escape(k)}: <code>{html.escape(str(v))}</code>" for k, v in prov.items())
             + "</p>",
             f"<p>{html.escape(experiment.spec.description)}</p>",
             "<h2>Claims of the study vs the data</h2>",
             "<dl>" + "".join(f"<dt>{t}</dt><dd>{d}</dd>" for t, d in DEFINITIONS) + "</dl>",
             _claim_table(claims, _csv(claims, report_dir, "claims")),
             "<p>Value and 95 % CI: the study's method as the claim states it; the CI resamples "
             "the independent units (models, and devices as a two-way cluster bootstrap), never "
             "configuration pairs that share models. <b>supported</b>: the whole CI lies in the "
             "claimed value's tolerance band; <b>not supported</b>: wholly outside it; "
             "<b>inconclusive</b>: the CI meets the band's edge, or leaving out 5 % of the models "
             "moves the value across it; <b>proxy</b>: the data measure something else in its "
             "place (named, with the verdict on the proxy); <b>true by construction</b> and "
             "<b>not comparable</b>: said why. The last columns give effbench's method or a "
             "variant where it differs from the study's.</p>"]
    if experiment.errors:
        parts.append("<h3>Analyses that failed</h3><ul>" + "".join(
            f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>"
            for k, v in experiment.errors.items()) + "</ul>")
    for name, result in experiment.results.items():
        parts.append(f"<h2 id='{name}'>{html.escape(_SECTIONS.get(name, name))}</h2>")
        parts.append(f"<pre>{html.escape(result.summary())}</pre>")
        try:
            figures = result.figures()
        except Exception as exc:  # noqa: BLE001 - one broken figure must not lose the report
            figures = {}
            parts.append(f"<p class='untestable'>figures failed: {html.escape(repr(exc))}</p>")
        for fig_name, fig in figures.items():
            file = f"{name}-{fig_name}.png"
            fig.savefig(report_dir / file, dpi=90)
            plt.close(fig)
            parts.append(f"<img src='{file}' alt='{html.escape(fig_name)}'>")
        for table_name, table in result.tables().items():
            if table is None or table.empty:
                continue
            parts.append(_table(table, table_name, report_dir, f"{name}-{table_name}"))
    if coldstart_dir is None:
        from collectors import workspace

        coldstart_dir = workspace.home() / COLDSTART_DIR
    parts.append(_coldstart_section(report_dir, Path(coldstart_dir)))
    if experiment.seconds:
        parts.append("<p>Seconds per analysis: " + ", ".join(
            f"{html.escape(k)} {v:.1f}" for k, v in experiment.seconds.items()) + "</p>")
    parts.append(_IMAGE_CHECK + "</body></html>")
    path = report_dir / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


__all__ = ["COLDSTART_DIR", "COLDSTART_SCORES", "DEFINITIONS", "MAX_ROWS", "coldstart_table", "write_report"]
