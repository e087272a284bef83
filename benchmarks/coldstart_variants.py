"""Leave-family-out variants of the cold-start anchor on the five timm configurations (how the
default ``learner="ensemble"`` was chosen; figures in benchmarks/RESULTS-coldstart.md).

    PYTHONPATH=. .venv/bin/python benchmarks/coldstart_variants.py [STORE] [v1,v2,a+b+c]

STORE: an imported store (default: import the public data); the features come from the
cache ``benchmarks/coldstart.py trace`` fills. Each variant's held-out predictions are kept
in ``$TMPDIR/effbench-variants-<rows>/<name>.parquet``; ``a+b+c`` scores the mean of those variants
in log space (an ensemble). Every fold is a family held out of one configuration's anchor:
the score is ``evaluate_coldstart``'s leave-family-out on stored configurations.
"""
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from coldstart import cache_store, public_matrix, timm_configs  # noqa: E402

from predictor.coldstart import ColdStartPredictor  # noqa: E402

if len(sys.argv) > 1 and Path(sys.argv[1]).is_dir():
    import coldstart
    coldstart.STORE = sys.argv.pop(1)
_, m = public_matrix()
features = cache_store().read("features")
configs = timm_configs(m)
want = sys.argv[1].split(",") if len(sys.argv) > 1 else None
est = ColdStartPredictor(learner="xgboost")  # the trees alone (the default before the ensemble)
rows, x = est._training_frame(m, features)
CACHE = Path(tempfile.gettempdir()) / f"effbench-variants-{len(rows)}"  # another feature set: a fresh cache
CACHE.mkdir(exist_ok=True)
fam = m.models["family"].reindex(rows.index).astype(str)
print(len(rows), "rows with features", flush=True)


def xgb(**kw):
    import xgboost
    p = dict(n_estimators=300, learning_rate=0.05, max_depth=4, subsample=0.8, colsample_bytree=0.6,
             min_child_weight=3, reg_lambda=1.0, tree_method="hist", n_jobs=2, random_state=0)
    p.update(kw)
    return xgboost.XGBRegressor(**p)


def mono(names, on=True):
    from predictor.coldstart.model import _MONOTONE
    return tuple(int(on and n.startswith(_MONOTONE)) for n in names)


def v_xgboost(r, X, y, rt, Xt):
    return est._predict_anchor(est._fit_anchor(r, X, np.exp(y)), rt, Xt)


#: the configuration whose anchor is being fitted (set by the loop below): what the shipped
#: predictor reads its mixed precision from
CONFIG = ""


def v_ensemble(r, X, y, rt, Xt):
    """ColdStartPredictor(learner="ensemble"): xgboost + roofline_margin + nnls, as shipped
    (autocast traffic only for configurations that run under autocast)."""
    from predictor.coldstart.model import runs_mixed_precision
    e = ColdStartPredictor(learner="ensemble")
    return e._predict_anchor(e._fit_anchor(r, X, np.exp(y), mixed_precision=runs_mixed_precision(CONFIG)), rt, Xt)


def v_ensemble_amp_everywhere(r, X, y, rt, Xt):
    """The shipped ensemble with the autocast traffic given to every configuration."""
    e = ColdStartPredictor(learner="ensemble")
    return e._predict_anchor(e._fit_anchor(r, X, np.exp(y)), rt, Xt)


def v_ensemble_no_amp(r, X, y, rt, Xt):
    """The shipped ensemble without the autocast traffic anywhere (the previous default's
    learners on today's rows)."""
    e = ColdStartPredictor(learner="ensemble")
    return e._predict_anchor(e._fit_anchor(r, X, np.exp(y), mixed_precision=False), rt, Xt)


def v_roofline(r, X, y, rt, Xt):
    """ColdStartPredictor(learner="roofline"): the ensemble's roofline-residual trees alone."""
    e = ColdStartPredictor(learner="roofline")
    return e._predict_anchor(e._fit_anchor(r, X, np.exp(y)), rt, Xt)


def v_ensemble_trees_nogemm(r, X, y, rt, Xt):
    """The shipped ensemble, its two tree members without the GEMM geometry features."""
    from predictor.coldstart.design import GEMM_FEATURES
    return v_ensemble(r, X.drop(columns=list(GEMM_FEATURES)), y, rt, Xt.drop(columns=list(GEMM_FEATURES)))


def v_xgboost_nogemm(r, X, y, rt, Xt):
    from predictor.coldstart.design import GEMM_FEATURES
    return v_xgboost(r, X.drop(columns=list(GEMM_FEATURES)), y, rt, Xt.drop(columns=list(GEMM_FEATURES)))


def v_flops_margin(r, X, y, rt, Xt):
    m_ = xgb(monotone_constraints=mono(X.columns)).fit(X, y, base_margin=X["log_flops"] - 20)
    return m_.predict(Xt, base_margin=Xt["log_flops"] - 20)


def _ridge(X, y):
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler
    from sklearn.pipeline import make_pipeline
    return make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(X, y)


def v_ridge_margin(r, X, y, rt, Xt):
    lin = _ridge(X, y)
    b, bt = lin.predict(X), lin.predict(Xt)
    m_ = xgb(monotone_constraints=mono(X.columns)).fit(X, y, base_margin=b)
    return m_.predict(Xt, base_margin=bt)


def v_ridge(r, X, y, rt, Xt):
    return _ridge(X, y).predict(Xt)


def v_additive_margin(r, X, y, rt, Xt):
    from predictor.coldstart.model import _Additive
    a = _Additive().fit(r, np.exp(y))
    b, bt = a.predict_log(r), a.predict_log(rt)
    m_ = xgb(monotone_constraints=mono(X.columns)).fit(X, y, base_margin=b)
    return m_.predict(Xt, base_margin=bt)


def _roof(r):
    from collectors.features.categories import CATEGORIES
    f = np.log(np.clip(r["flops"].astype(float), 1, None))
    b = np.log(np.clip(sum(r[f"bytes_{c}"].astype(float) for c in CATEGORIES), 1, None))
    n = np.log(np.clip(r["n_ops"].astype(float), 1, None))
    return np.column_stack([f, b, n])


def v_roofline_margin(r, X, y, rt, Xt):
    # log y ~ log(exp(f - P) + exp(b - W) + exp(n - K)): a smooth roofline with a launch term
    from scipy.optimize import least_squares
    Z, Zt = _roof(r), _roof(rt)
    def pred(th, Z):
        return np.logaddexp.reduce(Z - th[None, :], axis=1)
    th0 = np.median(Z - y[:, None], axis=0)
    th = least_squares(lambda th: pred(th, Z) - y, th0, loss="soft_l1").x
    b, bt = pred(th, Z), pred(th, Zt)
    m_ = xgb(monotone_constraints=mono(X.columns)).fit(X, y, base_margin=b)
    return m_.predict(Xt, base_margin=bt)


def v_nomono(r, X, y, rt, Xt):
    return xgb().fit(X, y).predict(Xt)


def v_shallow(r, X, y, rt, Xt):
    return xgb(max_depth=2, n_estimators=600, monotone_constraints=mono(X.columns)).fit(X, y).predict(Xt)


def v_deep(r, X, y, rt, Xt):
    return xgb(max_depth=6, monotone_constraints=mono(X.columns)).fit(X, y).predict(Xt)


def v_hgb(r, X, y, rt, Xt):
    e = ColdStartPredictor(learner="hgb")
    return e._predict_anchor(e._fit_anchor(r, X, np.exp(y)), rt, Xt)


def v_blend(r, X, y, rt, Xt):
    e = ColdStartPredictor(learner="blend")
    return e._predict_anchor(e._fit_anchor(r, X, np.exp(y)), rt, Xt)


def v_shares_only(r, X, y, rt, Xt):
    keep = [c for c in X.columns if not c.startswith(("log_count_", "log_bytes_", "log_flops_"))]
    return xgb(monotone_constraints=mono(keep)).fit(X[keep], y).predict(Xt[keep])


def _roof_fit(r, y):
    from scipy.optimize import least_squares
    Z = _roof(r)
    def pred(th, Z):
        return np.logaddexp.reduce(Z - th[None, :], axis=1)
    th0 = np.median(Z - y[:, None], axis=0)
    th = least_squares(lambda th: pred(th, Z) - y, th0, loss="soft_l1").x
    return lambda rr: pred(th, _roof(rr))


def v_nnls(r, X, y, rt, Xt):
    from predictor.coldstart.model import _Additive
    return _Additive().fit(r, np.exp(y)).predict_log(rt)


def v_nnls_base(r, X, y, rt, Xt):
    """nnls on the per-category terms only (the default before the GEMM terms)."""
    from predictor.coldstart.model import _ADDITIVE_BASE, _Additive
    return _Additive(terms=_ADDITIVE_BASE).fit(r, np.exp(y)).predict_log(rt)


def _previous_ensemble(r, X, y, rt, Xt, terms, roof):
    """An ensemble of an earlier default, fitted here: trees on ``X``, nnls on ``terms``, the
    roofline-residual trees on ``roof`` (unfitted)."""
    from predictor.coldstart.model import _Additive
    e = ColdStartPredictor(learner="ensemble")
    ms = np.exp(y)
    roof = roof.fit(r, ms)
    anchor = {"additive": _Additive(terms=terms).fit(r, ms), "trees": e._new_trees(list(X.columns)).fit(X, y),
              "roofline": roof}
    anchor["roofline_trees"] = e._new_trees(list(X.columns)).fit(X, y, base_margin=roof.predict_log(r))
    return e._predict_anchor(anchor, rt, Xt)


def v_ensemble_base(r, X, y, rt, Xt):
    """The default before reads and GEMM geometry were traced, on today's rows: trees without
    those features, nnls on the per-category terms, the three-rate roofline (F, bytes
    written, calls). The intermediate steps of RESULTS-coldstart's table were prototypes of
    one session and are not kept."""
    from predictor.coldstart.design import OPTIONAL_FEATURES
    from predictor.coldstart.model import _ADDITIVE_BASE, _Roofline
    X, Xt = X.drop(columns=list(OPTIONAL_FEATURES)), Xt.drop(columns=list(OPTIONAL_FEATURES))
    return _previous_ensemble(r, X, y, rt, Xt, _ADDITIVE_BASE, _Roofline(np.zeros(3)))  # three rates


def v_ensemble_reads(r, X, y, rt, Xt):
    """The default before the per-operator roofline sums were traced (0.498 in the fifth
    session), faithfully on today's rows: trees without the roofline features, nnls without
    their terms, the four-rate roofline on FLOPs."""
    from collectors.features.roofline import ROOFLINE_COLUMNS
    from predictor.coldstart.design import ROOFLINE_FEATURES
    from predictor.coldstart.model import _ADDITIVE, _Roofline
    X, Xt = X.drop(columns=list(ROOFLINE_FEATURES)), Xt.drop(columns=list(ROOFLINE_FEATURES))
    r, rt = r.drop(columns=list(ROOFLINE_COLUMNS)), rt.drop(columns=list(ROOFLINE_COLUMNS))  # roofline on FLOPs
    return _previous_ensemble(r, X, y, rt, Xt, [t for t in _ADDITIVE if t not in ROOFLINE_COLUMNS], _Roofline())


def v_roofline_alone(r, X, y, rt, Xt):
    """The ensemble's roofline (four rates, compute = the best-fitting per-operator sum), no trees."""
    from predictor.coldstart.model import _Roofline
    return _Roofline().fit(r, np.exp(y)).predict_log(rt)


def v_ensemble_trees_act(r, X, y, rt, Xt):
    """The default, its trees without the roofline sums that include the weights."""
    keep = [c for c in X.columns if "roof_all" not in c]
    return v_ensemble(r, X[keep], y, rt, Xt[keep])


def v_ensemble_trees_ratio(r, X, y, rt, Xt):
    """The default, its trees with the roofline sums per FLOP only (not their logs)."""
    keep = [c for c in X.columns if not c.startswith("log_roof_")]
    return v_ensemble(r, X[keep], y, rt, Xt[keep])


def v_roof_only(r, X, y, rt, Xt):
    return _roof_fit(r, y)(rt)


def v_roof_blend(r, X, y, rt, Xt):
    from predictor.coldstart.model import _Additive
    a = _Additive().fit(r, np.exp(y))
    return 0.5 * (v_roofline_margin(r, X, y, rt, Xt) + a.predict_log(rt))


def v_ens3(r, X, y, rt, Xt):
    from predictor.coldstart.model import _Additive
    a = _Additive().fit(r, np.exp(y))
    return (v_roofline_margin(r, X, y, rt, Xt) + a.predict_log(rt) + v_xgboost(r, X, y, rt, Xt)) / 3


def v_roof_feat(r, X, y, rt, Xt):
    f = _roof_fit(r, y)
    X2, Xt2 = X.assign(log_roof=f(r)), Xt.assign(log_roof=f(rt))
    return xgb(monotone_constraints=mono(X2.columns) [:-1] + (1,)).fit(X2, y).predict(Xt2)


def v_huber(r, X, y, rt, Xt):
    """Trees on a pseudo-Huber loss (slope 0.1 in log space): within ±10 % scores the bulk, and a
    squared loss lets a few badly-fitting networks pull every leaf."""
    return xgb(objective="reg:pseudohubererror", huber_slope=0.1,
               monotone_constraints=mono(X.columns)).fit(X, y).predict(Xt)


def v_median(r, X, y, rt, Xt):
    """Trees on the absolute error (median regression), for the same reason."""
    return xgb(objective="reg:absoluteerror", monotone_constraints=mono(X.columns)).fit(X, y).predict(Xt)


def v_roofline_huber(r, X, y, rt, Xt):
    """The roofline-residual trees of the ensemble, on the pseudo-Huber loss."""
    roof = _roof_fit(r, y)
    b, bt = roof(r), roof(rt)
    m_ = xgb(objective="reg:pseudohubererror", huber_slope=0.1,
             monotone_constraints=mono(X.columns)).fit(X, y, base_margin=b)
    return m_.predict(Xt, base_margin=bt)


VARIANTS = {k[2:]: v for k, v in dict(globals()).items() if k.startswith("v_")}

#: cross-config sharing: one model for all timm configs, config one-hot + its training median
def shared(configs, sub_fam):
    out = {c: pd.Series(np.nan, index=rows.index) for c in configs}
    for f in sorted(fam.unique()):
        test = (fam == f).to_numpy()
        parts, tparts = [], []
        for i, c in enumerate(configs):
            y = m.values.loc[rows.index, c]
            ok = (y > 0).to_numpy()
            tr = ok & ~test
            Xc = x[tr].assign(**{f"cfg{j}": float(j == i) for j in range(len(configs))})
            med = np.log(y[tr]).median()
            parts.append((Xc, np.log(y[tr].to_numpy()) - med))
            tparts.append((c, ok & test, med))
        X = pd.concat([p[0] for p in parts]); Y = np.concatenate([p[1] for p in parts])
        mdl = xgb(n_estimators=600, max_depth=6, monotone_constraints=mono(X.columns)).fit(X, Y)
        for i, (c, te, med) in enumerate(tparts):
            Xt = x[te].assign(**{f"cfg{j}": float(j == i) for j in range(len(configs))})
            out[c].iloc[np.flatnonzero(te)] = mdl.predict(Xt) + med
    return out


def score(pred, y):
    have = pred.notna() & (y > 0)
    e = pred[have] - np.log(y[have])
    return float((np.abs(np.exp(e) - 1) <= 0.1).mean()), float(spearmanr(pred[have], y[have]).statistic), \
        float(np.abs(e).mean())


res = []
names = want or list(VARIANTS)
for name in names:
    t = time.time()
    cache = CACHE / f"{name}.parquet"
    if "+" in name:
        missing = [n for n in name.split("+") if not (CACHE / f"{n}.parquet").exists()]
        if missing:
            raise SystemExit(f"{name}: run the members first ({', '.join(missing)})")
        parts = [pd.read_parquet(CACHE / f"{n}.parquet") for n in name.split("+")]
        preds = {c: sum(p[c] for p in parts) / len(parts) for c in configs}
    elif cache.exists():
        frame = pd.read_parquet(cache)
        preds = {c: frame[c] for c in configs}
    elif name == "shared":
        preds = shared(configs, fam)
    else:
        fn = VARIANTS[name]
        preds = {}
        for c in configs:
            CONFIG = c
            y = m.values.loc[rows.index, c]
            ok = (y > 0).to_numpy()
            p = pd.Series(np.nan, index=rows.index)
            for f in sorted(fam[ok].unique()):
                te = ok & (fam == f).to_numpy(); tr = ok & ~te
                p.iloc[np.flatnonzero(te)] = fn(rows[tr], x[tr], np.log(y[tr].to_numpy(float)), rows[te], x[te])
            preds[c] = p
    if "+" not in name and not cache.exists():
        pd.DataFrame(preds).to_parquet(cache)
    for c in configs:
        y = m.values.loc[rows.index, c]
        w, s, mae = score(preds[c], y)
        per = {f: score(preds[c][fam == f], y[fam == f])[0] for f in sorted(fam.unique())}
        res.append(dict(variant=name, config=c.split("|")[0] + "|" + c.split("|")[1], within_10=w, spearman=s,
                        mae_log=mae, **per))
    print(f"{name}: {time.time() - t:.0f} s", flush=True)
    df = pd.DataFrame(res)
    print(df[df.variant == name].round(3).to_string(index=False), flush=True)
pd.set_option("display.width", 250)
df = pd.DataFrame(res)
print(df.round(3).to_string(index=False))
print(df.groupby("variant")[["within_10", "spearman", "mae_log"]].mean().round(3).sort_values("within_10").to_string())
df.to_csv(CACHE / "variants.csv", index=False)
