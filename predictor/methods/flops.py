"""FLOPs baseline: latency ∝ FLOPs on the target device.

Assumptions: every model runs at the same effective FLOP/s on the target, so one scale
(geometric mean of ms/FLOP over the k ≥ 1 known models) places every model. Source
configurations are ignored. A model with unknown FLOPs gets NaN (no silent fallback to
parameters, which would mix two different proxies in one ranking).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.methods.base import (NotEnoughKnownModels, TransferInputError, TransferMethod,
                                    store_params)
from predictor.methods.registry import register_method


@register_method("flops")
class FlopsBaseline(TransferMethod):
    def __init__(self, feature: str = "flops", intervals: bool = True, n_calibration: int = 10,
                 random_state: int | None = 0):
        store_params(self, locals())

    def _log_feature(self, X: pd.DataFrame) -> np.ndarray:
        if self.feature not in X:
            raise TransferInputError(f"X has no '{self.feature}' column (the matrix lacks model features)")
        f = X[self.feature].to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.log(f)
        out[~np.isfinite(out)] = np.nan
        return out

    def _fit(self, X: pd.DataFrame, y_log: pd.Series) -> None:
        f = pd.Series(self._log_feature(X), index=X.index).loc[y_log.index]
        ok = f.notna()
        if not ok.any():
            raise NotEnoughKnownModels(
                f"FlopsBaseline needs at least 1 known target model with '{self.feature}', "
                f"got {len(y_log)} without")
        self.log_scale_ = float((y_log[ok] - f[ok]).mean())

    def _predict_log(self, X: pd.DataFrame) -> np.ndarray:
        return self._log_feature(X) + self.log_scale_
