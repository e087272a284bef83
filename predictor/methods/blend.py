"""Blend: the geometric mean of other registered methods' predictions.

Why: KRT with per-family corrections and rank transfer make different mistakes — one trusts a
source's ratios, the other only its order — and their log-space mean is at or above plain KRT in
both within-±10 % and Spearman on the forward and the chipset-grouped benchmarks (k = 5), which
neither member is alone. Members are fitted on the same known models; where a member has no
prediction for a model the others' mean stands. Conformal intervals as every method.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from predictor.methods.base import TransferMethod, store_params
from predictor.methods.registry import make_method, register_method


@register_method("blend", summary="geometric mean of KRT with family corrections and rank transfer")
class BlendTransfer(TransferMethod):
    """Geometric mean of the ``members`` (comma-separated registered method names; a string so
    that the parameter survives JSON as it is) fitted on the same models."""

    def __init__(self, members: str = "krt_family,rank", intervals: bool = True,
                 n_calibration: int = 10, random_state: int | None = 0):
        store_params(self, locals())

    def _members(self) -> list[TransferMethod]:
        return [make_method(name.strip(), intervals=False) for name in self.members.split(",")]

    def required_known(self) -> int:
        return max(est.required_known() for est in self._members())

    def _fit(self, X: pd.DataFrame, y_log: pd.Series) -> None:
        self.members_ = [est.fit(X, np.exp(y_log), target=self.target_) for est in self._members()]

    def _predict_log(self, X: pd.DataFrame) -> np.ndarray:
        P = np.column_stack([est._predict_log(X) for est in self.members_])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows no member predicts stay NaN
            return np.nanmean(P, axis=1)

    def state(self) -> dict:
        """The blend's own state; the fitted members are saved by ``save_extra``."""
        return {k: v for k, v in super().state().items() if k != "members_"}

    def save_extra(self, directory: Path) -> None:
        from predictor.methods.persistence import save_method

        for i, est in enumerate(getattr(self, "members_", [])):
            save_method(est, directory / f"member-{i}")

    def load_extra(self, directory: Path) -> None:
        from predictor.methods.persistence import load_method

        folders = sorted(directory.glob("member-*"), key=lambda p: int(p.name.split("-")[1]))
        if folders:
            self.members_ = [load_method(folder) for folder in folders]
