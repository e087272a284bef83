"""Low-rank completion: log latency ≈ config bias + model bias + model embedding · config embedding.

Assumptions: a few latent "hardware/runtime traits" (how much a configuration rewards
compute-bound vs memory-bound vs operator-specific work) explain how latencies differ across
configurations. ``fit_source`` fits the factorisation on the source configurations by alternating
ridge least squares (missing entries skipped; rank ``rank``, penalty ``alpha``). ``fit`` solves the
new configuration's bias and embedding from its k known models with a ridge pull
(``target_alpha``) toward the mean embedding of the source configurations that share the target's
runtime|precision (all sources when none does), so k = 1 gives "a typical configuration of this
software stack at this speed" and k = 0 that typical configuration itself (``required_known`` 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from predictor.design import config_of, source_columns
from predictor.methods.base import TransferMethod, log_sources, setup_of, store_params
from predictor.methods.registry import register_method


def _ridge_rows(W: np.ndarray, R: np.ndarray, D: np.ndarray, alpha: float,
                prior: np.ndarray | None = None) -> np.ndarray:
    """Solve, for every row i, min Σ_j W_ij (R_ij − D_j·θ_i)² + alpha‖θ_i[1:] − prior[1:]‖².
    The first coordinate (a bias) is not penalised. Batched: one (r+1)² system per row."""
    p = D.shape[1]
    pen = alpha * np.eye(p)
    pen[0, 0] = 1e-8
    A = np.einsum("ij,jk,jl->ikl", W, D, D) + pen
    b = np.einsum("ij,jk->ik", W * np.nan_to_num(R), D)
    if prior is not None:
        b = b + pen @ prior
    return np.linalg.solve(A, b[..., None])[..., 0]


@register_method("lowrank", pretrains=True)
class LowRankTransfer(TransferMethod):

    def __init__(self, rank: int = 3, alpha: float = 0.1, target_alpha: float = 1.0, n_iter: int = 30,
                 warm_start: bool = False, intervals: bool = True, n_calibration: int = 10,
                 random_state: int | None = 0):
        store_params(self, locals())

    def required_known(self) -> int:
        return 0

    def _fit_source(self, X: pd.DataFrame) -> None:
        cols = source_columns(X)
        M = log_sources(X, cols)
        W = (~np.isnan(M)).astype(float)
        n, m = M.shape
        r = max(0, min(int(self.rank), n - 1, m - 1))
        mu = np.nanmean(np.where(W > 0, M, np.nan), axis=0)
        a = np.nanmean(M - mu, axis=1)
        a = np.nan_to_num(a)
        resid = np.where(W > 0, M - mu - a[:, None], 0.0)
        u, s, vt = np.linalg.svd(resid, full_matrices=False)
        U = u[:, :r] * np.sqrt(s[:r])
        V = vt[:r].T * np.sqrt(s[:r])
        for _ in range(int(self.n_iter)):
            rows = _ridge_rows(W, M - mu, np.hstack([np.ones((m, 1)), V]), self.alpha)
            a, U = rows[:, 0], rows[:, 1:]
            cols_ = _ridge_rows(W.T, (M - a[:, None]).T, np.hstack([np.ones((n, 1)), U]), self.alpha)
            mu, V = cols_[:, 0], cols_[:, 1:]
        self.model_index_ = list(map(str, X.index))
        self.model_bias_ = a
        self.model_embedding_ = U
        self.config_bias_ = mu
        self.config_embedding_ = V
        self.lowrank_columns_ = cols

    def _rows(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(bias, embedding) of X's rows: stored ones, folded in from their sources otherwise."""
        pos = pd.Index(self.model_index_).get_indexer(X.index.astype(str))
        a = np.zeros(len(X))
        U = np.zeros((len(X), self.model_embedding_.shape[1]))
        seen = pos >= 0
        a[seen], U[seen] = self.model_bias_[pos[seen]], self.model_embedding_[pos[seen]]
        if (~seen).any():
            M = log_sources(X.loc[~seen], self.lowrank_columns_)
            W = (~np.isnan(M)).astype(float)
            D = np.hstack([np.ones((len(self.config_bias_), 1)), self.config_embedding_])
            rows = _ridge_rows(W, M - self.config_bias_, D, self.alpha)
            a[~seen], U[~seen] = rows[:, 0], rows[:, 1:]
            a[~seen & (W.sum(axis=1) == 0)] = np.nan
        return a, U

    def _fit(self, X: pd.DataFrame, y_log: pd.Series) -> None:
        # the prior is the mean configuration sharing the target's runtime|precision when there
        # is one (a new device runs a known software stack), else the mean of all sources
        setups = np.array([setup_of(config_of(c)) for c in self.lowrank_columns_])
        same = setups == setup_of(self.target_ or "")
        pool = same if same.any() else np.ones(len(setups), dtype=bool)
        prior = np.concatenate([[self.config_bias_[pool].mean()], self.config_embedding_[pool].mean(axis=0)])
        if len(y_log) == 0:
            theta = prior
        else:
            a, U = self._rows(X.loc[y_log.index])
            ok = ~np.isnan(a)
            D = np.hstack([np.ones((ok.sum(), 1)), U[ok]])
            R = (y_log.to_numpy()[ok] - a[ok])[None, :]
            theta = _ridge_rows(np.ones_like(R), R, D, self.target_alpha, prior)[0]
        self.target_bias_ = float(theta[0])
        self.target_embedding_ = theta[1:]

    def _predict_log(self, X: pd.DataFrame) -> np.ndarray:
        a, U = self._rows(X)
        return self.target_bias_ + a + U @ self.target_embedding_
