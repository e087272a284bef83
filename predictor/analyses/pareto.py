"""Does a source configuration's (latency, top-1) Pareto frontier predict the target's?

For each (source, target) configuration pair with ≥ ``min_common`` models measured on both and a
known top-1, the source frontier over the common models is taken as the prediction of the
target frontier (precision, recall, F1). The runs saved are 1 − |source frontier| / |common
models|: the runs needed on the target when only the predicted frontier is measured there.

Like with like: that share is capped by how many models two configurations share — with 13
shared models a frontier of 2 saves at most 85 %. The study's "99.5 % fewer runs" came from
hundreds of models, so it is tested on pairs sharing ≥ ``like_min_common`` (200) models and the
all-pairs figure is reported beside it. CIs resample models × devices: each resample
recomputes both frontiers on the drawn models (a model drawn twice counts twice).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from predictor.analyses._base import UNTESTABLE, AnalysisResult, Finding
from predictor.analyses._data import StudyData, model_column
from predictor.analyses._registry import register_analysis
from predictor.analyses._resample import (LEAVE_OUT, LEAVE_OUT_DRAWS, N_BOOT, SHARE, resample_many,
                                          unit_device_weights, weighted_mean)


class _Frontiers:
    """Pairs padded to one width; per weight vector, both frontiers of the drawn models."""

    def __init__(self, idx, src, tgt, acc, devices):
        self.n = len(idx)
        width = max(len(i) for i in idx)
        self.idx = np.zeros((self.n, width), dtype=int)
        self.pad = np.ones((self.n, width), dtype=bool)
        self.acc = np.full((self.n, width), -np.inf)
        lat = {"src": np.full((self.n, width), np.inf), "tgt": np.full((self.n, width), np.inf)}
        for r, i in enumerate(idx):
            k = len(i)
            self.idx[r, :k], self.pad[r, :k], self.acc[r, :k] = i, False, acc[r]
            lat["src"][r, :k], lat["tgt"][r, :k] = src[r], tgt[r]
        # faster first; among equal latencies the more accurate first (so it dominates the rest)
        self.orders = {k: np.lexsort((-self.acc, v), axis=1) for k, v in lat.items()}
        self.devices = np.asarray(devices, dtype=int).reshape(self.n, -1)

    def _front(self, present: np.ndarray, which: str) -> np.ndarray:
        order = self.orders[which]
        pres = np.take_along_axis(present, order, axis=1)
        acc = np.take_along_axis(self.acc, order, axis=1)
        best = np.maximum.accumulate(np.where(pres, acc, -np.inf), axis=1)
        before = np.concatenate([np.full((self.n, 1), -np.inf), best[:, :-1]], axis=1)
        front_sorted = pres & (acc > before)
        out = np.empty_like(front_sorted)
        np.put_along_axis(out, order, front_sorted, axis=1)
        return out

    def stats(self, w_row: np.ndarray) -> dict[str, np.ndarray]:
        w = np.where(self.pad, 0.0, w_row[self.idx])
        present = w > 0
        pred, true = self._front(present, "src"), self._front(present, "tgt")
        hits = (w * (pred & true)).sum(axis=1)
        wp, wt, tot = (w * pred).sum(axis=1), (w * true).sum(axis=1), w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision, recall = hits / wp, hits / wt
            f1 = np.where(hits > 0, 2 * precision * recall / (precision + recall), 0.0)
            saved = 1 - wp / tot
        ok = present.sum(axis=1) >= 2
        return {k: np.where(ok, v, np.nan) for k, v in
                (("f1", f1), ("precision", precision), ("recall", recall), ("runs_saved", saved))}


class _BucketedFrontiers:
    """Pairs bucketed by size (a 1,000-model pair must not pad 3,000 ten-model pairs)."""

    def __init__(self, idx, src, tgt, acc, devices):
        self.n = len(idx)
        self.devices = np.asarray(devices, dtype=int).reshape(self.n, -1)
        sizes = np.array([len(i) for i in idx])
        self.buckets = []
        for lo, hi in ((0, 64), (64, 256), (256, np.inf)):
            pos = np.flatnonzero((sizes > lo) & (sizes <= hi))
            if len(pos):
                self.buckets.append((pos, _Frontiers([idx[p] for p in pos], [src[p] for p in pos],
                                                     [tgt[p] for p in pos], [acc[p] for p in pos],
                                                     self.devices[pos])))

    def stats(self, w_row: np.ndarray) -> dict[str, np.ndarray]:
        out = {k: np.full(self.n, np.nan) for k in ("f1", "precision", "recall", "runs_saved")}
        for pos, fr in self.buckets:
            for k, v in fr.stats(w_row).items():
                out[k][pos] = v
        return out


SCOPES = {"all": None, "cross_tier": True, "same_tier": False}
COLUMNS = ("f1", "precision", "recall", "runs_saved")


@dataclass
class ParetoResult(AnalysisResult):
    name = "pareto"
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    example: dict = field(default_factory=dict)
    frontiers: _BucketedFrontiers | None = field(default=None, repr=False)
    n_models: int = 0
    n_devices: int = 0

    def _masks(self) -> dict[str, np.ndarray]:
        """Finding prefix → which pairs it averages over."""
        if self.pairs.empty:
            return {}
        cross = (self.pairs["source_tier"] != self.pairs["target_tier"]).to_numpy()
        sampled = self.pairs["in_all"].to_numpy()
        masks = {"all": sampled, "all.cross_tier": sampled & cross,
                 "all.same_tier": sampled & ~cross, "like": self.pairs["in_like"].to_numpy()}
        return {k: v for k, v in masks.items() if v.any()}

    def _stat(self, wm, wd) -> dict[str, np.ndarray]:
        wm = np.atleast_2d(wm)
        per = [self.frontiers.stats(row) for row in wm]
        dw = unit_device_weights(wd, self.frontiers.devices, len(wm))
        out = {}
        for prefix, mask in self._masks().items():
            for col in COLUMNS:
                vals = np.vstack([p[col] for p in per])
                out[f"{prefix}.{col}"] = weighted_mean(vals, dw * mask[None, :])
        return out

    def _findings(self) -> dict[str, Finding]:
        p = self.parameters
        like = f"pairs sharing ≥ {p.get('like_min_common')} models"
        out: dict[str, Finding] = {}
        masks = self._masks()
        if self.frontiers is not None and masks:
            n = {f"{k}.{c}": int(m.sum()) for k, m in masks.items() for c in COLUMNS}
            found = resample_many(self._stat, self.n_models, self.n_devices,
                                  n_boot=p.get("n_boot", N_BOOT),
                                  leave_out=p.get("leave_out", LEAVE_OUT),
                                  leave_out_draws=p.get("leave_out_draws", LEAVE_OUT_DRAWS),
                                  seed=p.get("seed", 0), n=n, bounds=lambda _: SHARE)
            for key, r in found.items():
                prefix = key.rsplit(".", 1)[0]
                sel = self.pairs[masks[prefix]]
                label = like if prefix == "like" else "sampled pairs" + (
                    "" if prefix == "all" else f" ({prefix.split('.')[1].replace('_', '-')})")
                out[key] = replace(Finding.from_resampled(r), method=(
                    f"mean over {len(sel)} {label} (median {int(sel['n_models'].median())} "
                    "common models)"))
        if "like" not in masks:
            for col in COLUMNS:
                out[f"like.{col}"] = Finding(None, basis=UNTESTABLE,
                                             basis_note=f"no configuration pair of the store: {like}")
        return out

    def by_tier(self) -> pd.DataFrame:
        if self.pairs.empty:
            return pd.DataFrame()
        g = self.pairs.groupby(["source_tier", "target_tier"])
        return g.agg(n_pairs=("f1", "size"), f1=("f1", "mean"), precision=("precision", "mean"),
                     recall=("recall", "mean"), runs_saved=("runs_saved", "mean"),
                     median_common=("n_models", "median")).reset_index()

    def tables(self) -> dict[str, pd.DataFrame]:
        return {"pareto_by_tier": self.by_tier(), "pareto_pairs": self.pairs,
                "pareto_findings": self.findings_frame()}

    def figures(self) -> dict:
        from predictor.analyses import plots
        return {"pareto_frontiers": plots.pareto_figure(self.example)} if self.example else {}


@register_analysis("pareto", result=ParetoResult)
def pareto_transfer(data: StudyData, min_common: int = 5, max_pairs: int = 3000,
                    like_min_common: int = 200, like_max_pairs: int = 600, seed: int = 0,
                    n_boot: int = N_BOOT, leave_out: float = LEAVE_OUT,
                    leave_out_draws: int = LEAVE_OUT_DRAWS) -> ParetoResult:
    """Frontier agreement over a random sample of at most ``max_pairs`` configuration pairs, and
    over (at most ``like_max_pairs`` of) the pairs sharing ≥ ``like_min_common`` models."""
    m = data.latency
    top1 = pd.to_numeric(model_column(m, "top1"), errors="coerce")
    tiers = m.configs["device_tier"].astype(str)
    device_codes, device_names = pd.factorize(m.configs["device"].astype(str))
    device_of = dict(zip(m.configs.index, device_codes))
    present = (m.values.notna() & top1.notna().to_numpy()[:, None])
    counts = present.astype(int).T @ present.astype(int)
    configs = list(m.values.columns)
    rng = np.random.default_rng(seed)

    def sample(threshold: int, cap: int) -> list[tuple[str, str]]:
        cand = [(a, b) for a in configs for b in configs if a != b and counts.at[a, b] >= threshold]
        if len(cand) > cap:
            cand = [cand[i] for i in sorted(rng.choice(len(cand), cap, replace=False))]
        return cand

    chosen = {"all": sample(min_common, max_pairs), "like": sample(like_min_common, like_max_pairs)}
    order = list(dict.fromkeys(chosen["all"] + chosen["like"]))
    rows, best, items = [], None, []
    values = m.values
    for a, b in order:
        common = present.index[present[a] & present[b]]
        acc = top1[common].to_numpy()
        src, tgt = values.loc[common, a].to_numpy(), values.loc[common, b].to_numpy()
        items.append((values.index.get_indexer(common), src, tgt, acc,
                      (device_of[a], device_of[b])))
        rows.append({"source": a, "target": b, "source_tier": tiers[a], "target_tier": tiers[b],
                     "n_models": len(common)})
        if tiers[a] != tiers[b] and (best is None or len(common) > best["n"]):
            best = {"n": len(common), "models": list(common), "top1": acc, "source": src,
                    "target": tgt, "source_name": a, "target_name": b}
    pairs = pd.DataFrame(rows, columns=["source", "target", "source_tier", "target_tier",
                                        "n_models"])
    frontiers = None
    if items:
        frontiers = _BucketedFrontiers(*[[it[k] for it in items] for k in range(5)])
        for col, v in frontiers.stats(np.ones(len(values.index))).items():
            pairs[col] = v
    for scope, chosen_pairs in chosen.items():
        keys = set(chosen_pairs)
        pairs[f"in_{scope}"] = [(a, b) in keys for a, b in order]
    return ParetoResult(pairs=pairs, example=best or {}, frontiers=frontiers,
                        n_models=len(values.index), n_devices=len(device_names),
                        parameters={"min_common": min_common, "max_pairs": max_pairs,
                                    "like_min_common": like_min_common,
                                    "like_max_pairs": like_max_pairs, "seed": seed,
                                    "n_boot": n_boot, "leave_out": leave_out,
                                    "leave_out_draws": leave_out_draws})


__all__ = ["ParetoResult", "pareto_transfer"]
