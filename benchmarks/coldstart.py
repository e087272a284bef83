"""Cold-start latency prediction from operator features: trace, then evaluate.

    PYTHONPATH=. .venv/bin/python benchmarks/coldstart.py trace        # all matrix models, resumable
    PYTHONPATH=. .venv/bin/python benchmarks/coldstart.py speed        # models/minute: seed13 + 100 timm
    PYTHONPATH=. .venv/bin/python benchmarks/coldstart.py evaluate     # LOFO / LMO on timm + AI Hub
    PYTHONPATH=. .venv/bin/python benchmarks/coldstart.py tune --trials 30   # nested family-grouped Optuna

``trace`` traces every model of the public-data matrix at the input size it was measured at
into a feature cache (a store folder ``$EFFBENCH_HOME/cache/features``), skipping what is
there; ``evaluate`` reads that cache. ``tune`` runs, for each held-out family, an Optuna study whose
objective is a family-grouped CV on the other families only, and scores the tuned learner on the
held-out family beside the defaults (nested: the held-out family never reaches a study).
``--store DIR`` reads an already imported store instead of importing the public data again.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from collectors import workspace


def cache_store():
    from collectors.store import ParquetStore

    return ParquetStore(Path(workspace.home()).resolve() / "cache" / "features")


STORE: str | None = None  # --store: an imported store to read instead of importing again


def public_matrix():
    """The latency matrix of both public sources (imported into a temporary store, or read
    from ``--store``)."""
    from collectors.importers import import_public, public_data_root
    from collectors.store import ParquetStore
    from predictor.matrix import matrix_from_store

    if STORE:
        store = ParquetStore(STORE)
        return store, matrix_from_store(store)
    root = public_data_root()
    if root is None:
        raise SystemExit("public data not found (../shared/data or $EFFBENCH_DATA)")
    store = ParquetStore(tempfile.mkdtemp(prefix="effbench-coldstart-"))
    import_public(root, store)
    return store, matrix_from_store(store)


def cmd_trace(args) -> int:
    from collectors.features import trace_models
    from predictor.coldstart import row_keys

    _, matrix = public_matrix()
    keys = row_keys(matrix)
    sizes = keys.dropna().groupby("model")["input_size"].agg(lambda s: sorted(set(int(v) for v in s))).to_dict()
    names = list(dict.fromkeys(keys["model"]))
    if args.limit:
        names = names[: args.limit]
    start = time.perf_counter()
    frame, failures = trace_models(names, input_size=sizes, store=cache_store(), progress=not args.quiet,
                                   jobs=args.jobs)
    wall = time.perf_counter() - start
    fresh = frame[~frame["cached"].astype(bool)]
    print(f"{len(frame)} (model, size) rows for {frame['model'].nunique()} of {len(names)} models ({len(fresh)} traced now in {wall:.0f} s"
          + (f", {60 * len(fresh) / wall:.1f} models/min" if len(fresh) else "") + f"); {len(failures)} failed")
    if len(fresh):
        print(fresh["traced_on"].value_counts().to_string())
    print(failures.groupby("kind").size().to_string() if len(failures) else "")
    for row in failures.head(args.show_failures).itertuples(index=False):
        print(f"  {row.kind:<15} {row.model}: {row.reason[:150]}")
    return 0


def cmd_speed(args) -> int:
    """Tracing speed from scratch (fresh store): the seed models and a family-stratified
    timm sample, built with pretrained=False, traced on meta (CPU fallback)."""
    from collectors.features import trace_models
    from collectors.store import ParquetStore
    from models_registry import FAMILIES, family_from_rules
    import timm

    rng = np.random.default_rng(args.seed)
    names = [n for n in timm.list_models() if family_from_rules(n) in FAMILIES[:-1]]
    by_family: dict[str, list[str]] = {}
    for n in names:
        by_family.setdefault(family_from_rules(n), []).append(n)
    per = args.sample // len(by_family)
    sample = [str(x) for f in sorted(by_family) for x in rng.choice(by_family[f], size=per, replace=False)]
    sample += [str(x) for x in rng.choice(sorted(set(names) - set(sample)), size=args.sample - len(sample),
                                          replace=False)]
    for label, spec in (("seed13", "seed13"), (f"timm sample of {len(sample)}", sample)):
        store = ParquetStore(tempfile.mkdtemp(prefix="effbench-speed-"))
        load = os.getloadavg()[0]
        start = time.perf_counter()
        frame, failures = trace_models(spec, store=store, progress=False, jobs=args.jobs)
        wall = time.perf_counter() - start
        n = len(frame) + len(failures)
        on = frame["traced_on"].value_counts().to_dict() if len(frame) else {}
        print(f"{label}: {n} models in {wall:.1f} s = {60 * n / wall:.0f} models/min "
              f"(median {frame['seconds'].median():.2f} s, max {frame['seconds'].max():.1f} s per model; "
              f"traced on {on}; {len(failures)} failed; jobs={args.jobs}; load average {load:.1f} on "
              f"{os.cpu_count()} cores)")
        for row in failures.itertuples(index=False):
            print(f"  {row.kind:<8} {row.reason[:140]}")
    return 0


TIMM_DEVICES = ("RTX 3090", "RTX 4090", "i7-12700H", "i9-10940X")


def timm_configs(matrix) -> list[str]:
    """Per (device, runtime), the NCHW configuration with the newest torch (the most models)."""
    c = matrix.configs[(matrix.configs["source"].astype(str) == "timm")
                       & (matrix.configs["layout"].astype(str) != "nhwc")]
    c = c[c["device"].astype(str).isin(TIMM_DEVICES)]
    return [g["n_models"].idxmax() for _, g in c.groupby(["device", "runtime"])]


def cmd_evaluate(args) -> int:
    from dataclasses import replace

    from predictor.coldstart import ColdStartPredictor, default_estimators, evaluate_coldstart

    store, matrix = public_matrix()
    features = cache_store().read("features")
    metadata = store.read("timm_macs")
    timm_cols = timm_configs(matrix)
    aihub_cols = [c for c in matrix.values.columns if str(matrix.configs.loc[c, "source"]) == "aihub"]
    cols = timm_cols + aihub_cols
    sub = replace(matrix, values=matrix.values[cols], configs=matrix.configs.loc[cols])
    print(matrix.summary())
    print(f"features cached for {len(features)} (model, size) rows; timm configurations: {timm_cols}")

    start = time.perf_counter()
    est = ColdStartPredictor(calibration_groups=args.calibration_groups).fit(sub, features)
    fit_s = time.perf_counter() - start
    print(f"fit on every configuration ({len(est.configs_)}: {len(est.anchors_)} anchors, "
          f"{len(est.calibrations_)} calibrated) in {fit_s:.1f} s (load average {os.getloadavg()[0]:.1f})")

    estimators = default_estimators(calibration_groups=args.calibration_groups)
    if args.estimators:
        estimators = {k: v for k, v in estimators.items() if k in args.estimators.split(",")}
    if args.learners:
        for learner in args.learners.split(","):
            estimators[f"operators-{learner}"] = (ColdStartPredictor(learner=learner,
                                                                     calibration_groups=args.calibration_groups),
                                                  "features")
    start = time.perf_counter()
    result = evaluate_coldstart(sub, features, metadata, protocols=args.protocols.split(","),
                                new_device=not args.no_new_device, k=args.k, estimators=estimators)
    result.n_boot = args.n_boot
    print(f"evaluation in {time.perf_counter() - start:.0f} s")
    scores = result.scores()
    scores.insert(4, "source", scores["config"].map(result.sources).fillna(""))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    result.predictions.to_parquet(out / "coldstart_predictions.parquet")
    scores.to_csv(out / "coldstart_scores.csv", index=False)  # the HTML report reads this file
    (out / "coldstart_params.json").write_text(json.dumps(
        {**result.params(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
         "n_features": int(len(features)), "n_boot": args.n_boot}, default=str))
    print(f"scores: {out / 'coldstart_scores.csv'}")
    pd.set_option("display.width", 220)
    pd.set_option("display.max_rows", 400)
    timm_scores = scores[scores["config"].isin(timm_cols)]
    for metric in ("within_10", "spearman", "coverage"):
        wide = timm_scores.pivot_table(index=["protocol", "target", "config"], columns="estimator", values=metric)
        print(f"\n== timm: {metric} ==\n{wide.round(3).to_string()}")
    ai = scores[scores["config"].isin(aihub_cols)]
    if len(ai):
        agg = ai.groupby(["protocol", "target", "estimator"]).agg(
            configs=("config", "nunique"), median_n=("n", "median"), within_10=("within_10", "mean"),
            within_10_lo=("within_10_lo", "mean") if "within_10_lo" in ai else ("within_10", "min"),
            within_10_hi=("within_10_hi", "mean") if "within_10_hi" in ai else ("within_10", "max"),
            spearman=("spearman", "mean"), coverage=("coverage", "mean"))
        print(f"\n== AI Hub: mean over configurations (CIs: mean of per-configuration 95 % bootstrap "
              f"bounds over models) ==\n{agg.round(3).to_string()}")
        head = ai[ai["config"].str.startswith("Samsung Galaxy S24|") & ai["config"].str.endswith("|float")]
        cols_show = ["protocol", "target", "estimator", "config", "n", "within_10", "within_10_lo", "within_10_hi",
                     "spearman", "spearman_lo", "spearman_hi", "coverage"]
        print(f"\n== AI Hub, Galaxy S24 float ==\n"
              f"{head[[c for c in cols_show if c in head]].round(3).to_string(index=False)}")
    if args.mlflow:
        from predictor.tracking import log_result

        run = log_result(result, "coldstart", nested_by="config")
        print(f"MLflow run {run}")
    return 0


def cmd_tune(args) -> int:
    """Nested leave-family-out: per outer family, a study on the other families (its objective
    a family CV among them), then the tuned and the default anchors predict the outer family."""
    from predictor.coldstart import ColdStartPredictor
    from predictor.coldstart.model import runs_mixed_precision
    from predictor.coldstart.tune import family_cv, tune_coldstart

    _, matrix = public_matrix()
    features = cache_store().read("features")
    configs = [c for c in timm_configs(matrix) if not args.configs or any(p in c for p in args.configs.split(","))]
    learners = args.learners.split(",")
    matrix = matrix.subset(configs=configs)
    family = matrix.models["family"].astype(str)
    print(f"configurations: {configs}; learners {learners}; {args.trials} trials per study")
    rows = []
    for outer in ([] if args.final_only else sorted(family.unique())):
        train = matrix.subset(models=list(matrix.values.index[family != outer]))
        start = time.perf_counter()
        study = tune_coldstart(train, features, configs, n_trials=args.trials, learners=learners, seed=args.seed)
        print(f"[{outer}] study {time.perf_counter() - start:.0f} s: {study.summary()}", flush=True)
        for name, params in (("default", {}), ("tuned", study.best_params)):
            est = ColdStartPredictor(**params)
            rows_f, x = est._training_frame(matrix, features)
            test = (family.reindex(rows_f.index) == outer).to_numpy()
            for config in configs:
                y = matrix.values.loc[rows_f.index, config]
                ok = (y > 0).to_numpy()
                tr, te = ok & ~test, ok & test
                anchor = est._fit_anchor(rows_f[tr], x[tr], y[tr].to_numpy(dtype=float),
                                         mixed_precision=runs_mixed_precision(config))
                pred = est._predict_anchor(anchor, rows_f[te], x[te])
                rows.append(pd.DataFrame({"estimator": name, "config": config, "family": outer,
                                          "model": rows_f.loc[te, "model"].to_numpy(),
                                          "y_ms": y[te].to_numpy(dtype=float), "pred_ms": np.exp(pred),
                                          "params": json.dumps(study.best_params if name == "tuned" else {})}))
    if rows:
        from predictor.coldstart import score_predictions

        preds = pd.concat(rows, ignore_index=True)
        preds = preds.assign(protocol="leave-family-out", target="stored", low_ms=np.nan, high_ms=np.nan)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        preds.to_parquet(out / "coldstart_tune_predictions.parquet")
        scores = score_predictions(preds, n_boot=args.n_boot)
        cols = [c for c in ("estimator", "config", "n", "within_10", "within_10_lo", "within_10_hi", "spearman",
                            "spearman_lo", "spearman_hi", "median_ape") if c in scores]
        pd.set_option("display.width", 220)
        print("\n== nested leave-family-out (stored configuration), tuned vs defaults ==")
        print(scores[cols].round(3).to_string(index=False))
        per_family = preds.assign(hit=(preds["pred_ms"] / preds["y_ms"] - 1).abs() <= 0.1).pivot_table(
            index=["config", "family"], columns="estimator", values="hit", aggfunc="mean")
        print(per_family.round(3).to_string())
    if args.final or args.final_only:
        start = time.perf_counter()
        study = tune_coldstart(matrix, features, configs, n_trials=args.trials, learners=learners, seed=args.seed)
        print(f"\n[all families] study {time.perf_counter() - start:.0f} s: {study.summary()}")
        print(json.dumps(study.best_params))
        print(json.dumps({k: round(v, 4) for k, v in study.best_score.items()}))
        print(json.dumps({k: round(v, 4) for k, v in study.default_score.items()}))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=None, help="an imported store to read (default: import the public data)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("trace")
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--show-failures", type=int, default=40)
    p.add_argument("--jobs", type=int, default=2, help="worker processes tracing in parallel")
    p.set_defaults(fn=cmd_trace)
    p = sub.add_parser("speed")
    p.add_argument("--sample", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=1, help="worker processes (fewer than 16 models per worker: one)")
    p.set_defaults(fn=cmd_speed)
    p = sub.add_parser("evaluate")
    p.add_argument("--protocols", default="leave-family-out,leave-models-out")
    p.add_argument("--no-new-device", action="store_true")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--n-boot", type=int, default=300)
    p.add_argument("--learners", default="", help="extra operator learners to compare, e.g. blend,nnls,hgb")
    p.add_argument("--estimators", default="", help="only these of operators,metadata,flops")
    p.add_argument("--calibration-groups", default="family", help="family (default), architecture or model")
    p.add_argument("--out", default=str(workspace.home() / "coldstart"),
                   help="scores folder (default $EFFBENCH_HOME/coldstart, where the HTML report looks)")
    p.add_argument("--mlflow", action="store_true", help="log the result with predictor.tracking.log_result")
    p.set_defaults(fn=cmd_evaluate)
    p = sub.add_parser("tune")
    p.add_argument("--trials", type=int, default=30)
    p.add_argument("--configs", default="RTX 4090", help="substrings of the timm configurations tuned on")
    p.add_argument("--learners", default="xgboost,hgb,loglinear")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-boot", type=int, default=300)
    p.add_argument("--final", action="store_true", help="also run one study on every family (proposed defaults)")
    p.add_argument("--final-only", action="store_true", help="only the study on every family")
    p.add_argument("--out", default=str(Path(tempfile.gettempdir()) / "effbench-coldstart"))
    p.set_defaults(fn=cmd_tune)
    args = parser.parse_args(argv)
    global STORE
    STORE = args.store
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
