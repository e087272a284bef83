"""The static HTML report of an experiment: claim table first, then each analysis' figures/tables.

Static on purpose: one folder (``index.html`` + PNGs) that opens from disk or any file server,
survives in CI artifacts, and needs no notebook or server to read.
"""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}
table{border-collapse:collapse;font-size:13px;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px}
th{background:#f0f0f0}img{max-width:100%;border:1px solid #ddd;margin:.5em 0}
.supported{background:#e3f6e3}.not-supported{background:#fbe3e3}.inconclusive{background:#fff6d6}
.untestable{color:#888}code{background:#f4f4f4;padding:1px 4px}"""
_SECTIONS = {"disagreement": "FLOPs vs measured rank", "transfer": "Cross-tier ranking transfer",
             "predictability": "Prediction error by family", "pareto": "Pareto frontier transfer",
             "variance": "Variance decomposition of log latency",
             "noise": "Measurement-noise ceiling", "runtime_stability": "Rank stability across runtimes"}
MAX_ROWS = 40
_VERDICT_CSS = {"supported": "supported", "not supported": "not-supported",
                "inconclusive": "inconclusive"}
#: On load, records how many <img> decoded (naturalWidth > 0) on <body data-images-loaded/-total>,
#: so a headless browser can check the figures render (tests/test_report_browser.py).
_IMAGE_CHECK = ("<script>window.addEventListener('load',function(){var im=document.images,n=0;"
                "for(var i=0;i<im.length;i++){if(im[i].naturalWidth>0){n++;}}"
                "document.body.setAttribute('data-images-loaded',n);"
                "document.body.setAttribute('data-images-total',im.length);});</script>")


def _claim_table(claims) -> str:
    if claims.empty:
        return "<p>No claims.</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in claims.columns)
    body = []
    for _, row in claims.iterrows():
        css = _VERDICT_CSS.get(str(row["verdict"]), "untestable")
        cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row.values)
        body.append(f'<tr class="{css}">{cells}</tr>')
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def write_report(experiment, report_dir: str | Path) -> Path:
    """Write ``index.html`` and one PNG per figure into ``report_dir``; return the HTML path."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>effbench report: "
             f"{html.escape(experiment.spec.name)}</title><style>{_CSS}</style></head><body>",
             f"<h1>effbench — {html.escape(experiment.spec.name)}</h1>",
             f"<p>{html.escape(experiment.spec.description)}</p>",
             "<h2>Claims of the study vs the public data</h2>", _claim_table(experiment.claims()),
             "<p>CIs are 95 % percentile bootstraps over the units named in each note "
             "(configurations, configuration pairs, devices); pairs share models, so their CIs are "
             "optimistic.</p>"]
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
            shown = table.head(MAX_ROWS)
            more = f" (first {MAX_ROWS} of {len(table)} rows)" if len(table) > MAX_ROWS else ""
            parts.append(f"<h4>{html.escape(table_name)}{more}</h4>")
            parts.append(shown.to_html(index=False, float_format=lambda x: f"{x:.3g}",
                                       na_rep="—", border=0))
    if experiment.seconds:
        parts.append("<p>Seconds per analysis: " + ", ".join(
            f"{html.escape(k)} {v:.1f}" for k, v in experiment.seconds.items()) + "</p>")
    parts.append(_IMAGE_CHECK + "</body></html>")
    path = report_dir / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


__all__ = ["write_report"]
