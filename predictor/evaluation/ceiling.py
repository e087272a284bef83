"""How well *any* single-source ratio transfer could do: an in-sample oracle per target.

Why: a bar such as "90 % of models within ±10 %" is only meaningful if the data allow it. For
each target configuration the oracle looks at every configuration of *another* device that
measured (almost) all of the target's models, fits the one ratio that best explains **all** of the
target's models (the median log ratio — no k-shot guessing, no source selection error), and
keeps the best source. What remains is the per-model interaction between the devices, which a
ratio transfer cannot remove however it chooses its source. A method may beat this oracle only by
combining several sources or learning per-model corrections.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.metrics import spearman, within


def transfer_ceiling(matrix, align: bool = True, min_models: int = 5,
                     min_overlap: float = 0.9) -> pd.DataFrame:
    """One row per target configuration: the best other-device source and its in-sample
    within-10 % / within-5 % / Spearman when the ratio is fitted on every target model.

    ``align`` reads sources as of the target's measurement dates (as ``evaluate`` does);
    ``min_overlap`` is the share of the target's models a source must have measured.
    """
    rows = []
    device = matrix.configs["device"].astype(str)
    for target in matrix.values.columns:
        m = matrix.aligned_to(target) if align and hasattr(matrix, "aligned_to") else matrix
        y = np.log(m.values[target].dropna())
        if len(y) < min_models:
            continue
        best = None
        for source in m.values.columns:
            if device[source] == device[target]:
                continue
            x = np.log(m.values[source].reindex(y.index))
            ok = x.notna().to_numpy()
            if ok.sum() < max(min_models, min_overlap * len(y)):
                continue
            yy, xx = y[ok].to_numpy(), x[ok].to_numpy()
            pred = xx + np.median(yy - xx)
            w10 = within(np.exp(yy), np.exp(pred), 0.10)
            if best is None or w10 > best["within_10"]:
                best = dict(within_10=w10, within_5=within(np.exp(yy), np.exp(pred), 0.05),
                            spearman=spearman(yy, xx), source=source, n_models=int(ok.sum()))
        if best is not None:
            rows.append(dict(target=target, device=device[target], **best))
    return pd.DataFrame(rows, columns=["target", "device", "source", "n_models", "within_10",
                                       "within_5", "spearman"])


__all__ = ["transfer_ceiling"]
